"""The public HTTP API, version 1: each app contributes its router; errors share one envelope."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Router, Swagger
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from govhall.api_errors import (
    BAD_REQUEST,
    FORBIDDEN,
    INTERNAL_ERROR,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHORIZED,
    VALIDATION_ERROR,
    ApiError,
    error_body,
    not_found,
    zh_hans,
)
from govhall.api_schema import Utf8JsonRenderer
from govhall.cases.api import router as cases_router
from govhall.catalog.api import router as catalog_router
from govhall.licences.api import router as licences_router
from govhall.metrics.api import router as metrics_router
from govhall.org.api import router as org_router

logger = logging.getLogger(__name__)

# Plain strings, not gettext: the OpenAPI document is committed and must not depend on the
# language of the process that generated it.
API_DESCRIPTION = """\
一体化在线政务服务平台开放接口。公开、只读、无需登录的部分：政务服务事项目录（实施清单、办事指南及其历史版本）、
行政区划、部门和主题；这些答复带强 ETag，带 `If-None-Match` 再次请求时内容未变即答 304。
办件部分（申请、提交、我的办件、补正、撤回；工作人员的待办和办理）须登录：使用已登录的浏览器会话
（POST、PUT 须带 CSRF 令牌，工作人员的会话须经双因素验证），或使用本平台统一身份认证（OpenID Connect，/o/）签发的
OAuth2 访问令牌（只放在 `Authorization: Bearer …` 请求头中，地址中带令牌的请求一律拒绝；
scope 含 cases 或 openid）。提交申请须带 `Idempotency-Key` 请求头，
用同一个值重试只会产生一个办件。出错时返回统一的错误结构 `{"error": {"code", "message", "message_en", "details"}}`，
其中 `code` 为稳定的机器代码；看不到的办件一律答复 not_found。

Open API of the integrated online government services platform. Public, read-only and without
authentication: the service catalogue (implementations, their guides and earlier published
versions), regions, departments and themes; these answers carry a strong ETag, and a request
with `If-None-Match` gets `304 Not Modified` while the answer is unchanged.
Case endpoints (apply, submit, my cases, answer a correction, withdraw; the staff to-do list and
actions) need either a logged-in browser session (POST and PUT carry the CSRF token; staff
sessions must have passed the second factor) or an OAuth2 bearer access token issued by
govhall's own OpenID Connect provider (/o/) with scope `cases` or `openid`, sent in the
`Authorization: Bearer` header only (a request that also carries a token in its address is
refused). Submitting takes an `Idempotency-Key` header: a retry with the same value never makes
a second case. Every error answers `{"error": {"code", "message", "message_en", "details"}}`
where `code` is a stable machine code; a case the caller may not see is not_found.
"""


api = NinjaAPI(
    renderer=Utf8JsonRenderer(),
    title="govhall 政务服务开放接口 (govhall public API)",
    version="1.0.0",
    description=API_DESCRIPTION,
    urls_namespace="api-v1",
    # Swagger UI is served from the ninja app's static files; the validator badge would call
    # validator.swagger.io, an outside address, so it is switched off.
    docs=Swagger(settings={"validatorUrl": None}),
)


def _error_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    message: Any,
    message_en: str,
    params: dict[str, Any] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    body = error_body(code=code, message=message, message_en=message_en, params=params, details=details)
    return api.create_response(request, body, status=status)


@api.exception_handler(ApiError)
def api_error_answer(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error_response(
        request,
        status=exc.status,
        code=exc.code,
        message=exc.message,
        message_en=exc.message_en,
        params=exc.params,
        details=exc.details,
    )


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def not_found_answer(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The exception text may name a model or a query: it is not echoed.
    return api_error_answer(request, not_found())


# Messages per pydantic error type; each names the parameter it concerns.
_VALIDATION_MESSAGES = {
    "missing": _("参数“%(field)s”必须填写。"),
    "greater_than_equal": _("参数“%(field)s”不能小于 %(ge)s。"),
    "greater_than": _("参数“%(field)s”必须大于 %(gt)s。"),
    "less_than_equal": _("参数“%(field)s”不能大于 %(le)s。"),
    "less_than": _("参数“%(field)s”必须小于 %(lt)s。"),
    "int_parsing": _("参数“%(field)s”必须是整数。"),
    "int_type": _("参数“%(field)s”必须是整数。"),
    "literal_error": _("参数“%(field)s”的取值无效，可选值：%(expected)s。"),
    "enum": _("参数“%(field)s”的取值无效，可选值：%(expected)s。"),
    "string_too_long": _("参数“%(field)s”不能超过 %(max_length)s 个字符。"),
    "string_too_short": _("参数“%(field)s”不能少于 %(min_length)s 个字符。"),
    "string_pattern_mismatch": _("参数“%(field)s”的格式不正确。"),
}
_VALIDATION_MESSAGE_DEFAULT = _("参数“%(field)s”的取值无效。")


def _validation_detail(request: HttpRequest, error: dict[str, Any]) -> dict[str, Any]:
    loc = list(error.get("loc") or [])
    names = [str(part) for part in loc[1:]] or [str(part) for part in loc]
    field = ".".join(names)
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    template = _VALIDATION_MESSAGES.get(error.get("type", ""), _VALIDATION_MESSAGE_DEFAULT)
    try:
        message = zh_hans(template, {"field": field, **context})
    except KeyError:
        message = zh_hans(_VALIDATION_MESSAGE_DEFAULT, {"field": field})
    return {
        "loc": loc,
        "code": str(error.get("type", "invalid")),
        "message": message,
        "message_en": f"{field}: {error.get('msg', 'invalid value')}",
        "input": _sent_value(request, loc),
    }


def _sent_value(request: HttpRequest, loc: list[Any]) -> str | None:
    """What the client sent for a query or path parameter, so the answer shows it back."""
    if len(loc) != 2:
        return None
    source, name = loc
    if source == "query":
        return request.GET.get(str(name))
    if source == "path" and request.resolver_match is not None:
        value = request.resolver_match.kwargs.get(str(name))
        return None if value is None else str(value)
    return None


@api.exception_handler(NinjaValidationError)
def validation_error_answer(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [_validation_detail(request, error) for error in exc.errors]
    return _error_response(
        request,
        status=422,
        code=VALIDATION_ERROR,
        message=_("请求参数有误，请按 details 中的说明修改。"),
        message_en="Some request parameters are invalid; see details.",
        details=details,
    )


_HTTP_ERROR_CODES = {
    400: (BAD_REQUEST, _("请求有误。"), "Bad request."),
    401: (UNAUTHORIZED, _("需要登录。"), "Authentication required."),
    403: (FORBIDDEN, _("无权访问。"), "Access denied."),
    404: (NOT_FOUND, _("找不到请求的内容。"), "The requested resource was not found."),
    429: (RATE_LIMITED, _("请求过于频繁，请稍后再试。"), "Too many requests; try again later."),
}


@api.exception_handler(HttpError)
def http_error_answer(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message, message_en = _HTTP_ERROR_CODES.get(exc.status_code, _HTTP_ERROR_CODES[400])
    response = _error_response(request, status=exc.status_code, code=code, message=message, message_en=message_en)
    if isinstance(exc, Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


@api.exception_handler(Exception)
def unexpected_error_answer(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Log the failure with its traceback; the client gets the envelope and nothing internal."""
    logger.exception("API request failed: %s %s", request.method, request.path, exc_info=exc)
    return _error_response(
        request,
        status=500,
        code=INTERNAL_ERROR,
        message=_("服务器内部错误，请稍后再试。"),
        message_en="Internal server error; please try again later.",
    )


# Unknown paths under /api/v1/ answer with the envelope too, not with the portal's HTML page.
# This router is added last so it only catches what no other route matched.
_unknown_path_router = Router()


@_unknown_path_router.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:unknown_path}", include_in_schema=False
)
def unknown_path(request: HttpRequest, unknown_path: str) -> HttpResponse:
    raise not_found(_("没有这个接口地址。"), "There is no such API path.")


api.add_router("", catalog_router)
api.add_router("", org_router)
api.add_router("", cases_router)
api.add_router("", licences_router)
api.add_router("", metrics_router)
api.add_router("", _unknown_path_router)
