"""The error envelope of the public API: a stable machine code and messages in zh-hans and English.

Every error answers ``{"error": {"code", "message", "message_en", "details"}}``. Clients branch on
``code``, which never changes once published; the messages are for people and may be reworded.
This module holds only the schemas and the exception, so routers can import it without importing
the API instance (which imports the routers).
"""

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from ninja import Field

from govhall.api_schema import ResponseSchema

# The stable codes. Add new ones; never rename or reuse one.
NOT_FOUND = "not_found"
VALIDATION_ERROR = "validation_error"
BAD_REQUEST = "bad_request"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
RATE_LIMITED = "rate_limited"
REQUEST_TOO_LARGE = "request_too_large"
INTERNAL_ERROR = "internal_error"


class ErrorDetailOut(ResponseSchema):
    loc: list[str | int] = Field(
        ..., description='出错参数的位置，如 ["query", "page"] (where the error is, e.g. query parameter page)'
    )
    code: str = Field(..., description="出错原因的机器代码 (machine code of the reason, e.g. greater_than_equal)")
    message: str = Field(..., description="中文说明 (message in zh-hans)")
    message_en: str = Field(..., description="英文说明 (message in English)")
    input: str | None = Field(None, description="提交的原值 (the value as sent)")


class ErrorBodyOut(ResponseSchema):
    code: str = Field(
        ...,
        description=(
            "稳定的错误代码 (stable error code): not_found, validation_error, bad_request, unauthorized, "
            "forbidden, rate_limited, request_too_large, internal_error"
        ),
        examples=[NOT_FOUND],
    )
    message: str = Field(..., description="中文说明 (message in zh-hans)")
    message_en: str = Field(..., description="英文说明 (message in English)")
    details: list[ErrorDetailOut] = Field(..., description="逐项说明 (one entry per invalid parameter)")


class ErrorOut(ResponseSchema):
    error: ErrorBodyOut


# The error responses every endpoint documents in the OpenAPI document.
ERROR_RESPONSES: dict[int, type[ResponseSchema]] = {404: ErrorOut, 422: ErrorOut, 500: ErrorOut}


class ApiError(Exception):
    """An error answered with the envelope.

    ``message`` is zh-hans source text marked with gettext_lazy and ``params`` fill its
    placeholders; it is rendered in zh-hans when answered, whatever language the request asked for.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str | Promise,
        message_en: str,
        params: dict[str, Any] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.message_en = message_en
        self.params = params or {}
        self.details = details or []
        super().__init__(code, message_en)


def not_found(
    message: str | Promise | None = None, message_en: str | None = None, params: dict[str, Any] | None = None
) -> ApiError:
    return ApiError(
        status=404,
        code=NOT_FOUND,
        message=message or _("找不到请求的内容。"),
        message_en=message_en or "The requested resource was not found.",
        params=params,
    )


def zh_hans(message: str | Promise, params: dict[str, Any] | None = None) -> str:
    """A gettext_lazy message rendered in zh-hans (the envelope's ``message`` is always zh-hans)."""
    with override("zh-hans"):
        return str(message) % params if params else str(message)


def error_body(
    *,
    code: str,
    message: str | Promise,
    message_en: str,
    params: dict[str, Any] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": zh_hans(message, params),
            "message_en": message_en,
            "details": details or [],
        }
    }
