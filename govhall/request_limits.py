"""The size of a request's body, capped before any of it is read.

Django caps a body without files (``DATA_UPLOAD_MAX_MEMORY_SIZE``) and the number of files
(``DATA_UPLOAD_MAX_NUMBER_FILES``), but not the bytes of the files: an upload is written to a
temporary file as it arrives, and the platform's own limit on a material (20 MiB, checked by its
bytes in ``cases.uploads``) is applied only once the whole request has been received. One filing
through the API may carry 30 materials, a portal form one per material: without a cap on the
whole body a caller could make a worker read and spool hundreds of megabytes before anything
refuses them.

``RequestSizeLimitMiddleware`` answers 413 as soon as the declared length (``Content-Length``)
is above ``GOVHALL_REQUEST_MAX_BYTES``. Django never reads more than the declared length (a body
sent without one is read as empty), so the declared length is the bound. An API caller gets the
error envelope (``request_too_large``); a person on a page gets a page saying what to do
(send the materials a few at a time). Nothing of the refused request is kept: none of it was read.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from govhall.api_errors import REQUEST_TOO_LARGE, error_body

DEFAULT_REQUEST_MAX_BYTES = 100 * 1024 * 1024
API_PREFIX = "/api/"


def request_max_bytes() -> int:
    return int(getattr(settings, "GOVHALL_REQUEST_MAX_BYTES", DEFAULT_REQUEST_MAX_BYTES))


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads a body of an unreadable length as empty, and so is it here


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = request_max_bytes()
        if _declared_length(request) > limit:
            return request_too_large(request, limit)
        return self.get_response(request)


def _size_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"


def request_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    size = _size_text(limit)
    if request.path.startswith(API_PREFIX):
        body = error_body(
            code=REQUEST_TOO_LARGE,
            message=_("请求内容超过 %(size)s。请分几次上传材料：先保存草稿，再逐份上传，最后提交。"),
            message_en=(
                f"The request is larger than {size}. Upload the materials a few at a time: "
                "save the draft, upload each material, then submit."
            ),
            params={"size": size},
        )
        return JsonResponse(body, status=413, json_dumps_params={"ensure_ascii": False})
    # Back to the page the form was on, when the browser says which and it is one of ours.
    referer = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    back = referer if referer and safe else "/"
    return render(request, "request_too_large.html", {"size": size, "back": back}, status=413)
