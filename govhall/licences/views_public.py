"""Public verification of a licence (no login): the QR code's page, typing an identifier,
uploading a PDF; and a holder's share link."""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from govhall.licences.models import LicenceShare
from govhall.licences.verification import VerifyResult, licence_verify_identifier, licence_verify_pdf

UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOADS_PER_MINUTE = 20


def _rate_limited(request: HttpRequest) -> bool:
    """Uploads cost a signature validation each: a few per minute per address."""
    key = f"licence-verify-upload:{request.META.get('REMOTE_ADDR', '')}"
    count = cache.get_or_set(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60)
        count = 1
    return bool(count and count > UPLOADS_PER_MINUTE)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    result: VerifyResult | None = None
    error = ""
    status = 200
    identifier = (request.GET.get("identifier") or request.POST.get("identifier") or "").strip()
    if request.method == "POST" and request.FILES.get("document"):
        upload = request.FILES.getlist("document")[0]
        if _rate_limited(request):
            error, status = _("核验过于频繁，请一分钟后再试。"), 429
        elif upload.size is not None and upload.size > UPLOAD_MAX_BYTES:
            error = _("文件超过 20 MB，不是本平台签发的证照文件。")
        else:
            result = licence_verify_pdf(upload.read())
    elif identifier:
        result = licence_verify_identifier(identifier)
    return render(
        request,
        "licences/verify.html",
        {"result": result, "identifier": identifier, "error": error},
        status=status,
    )


@require_GET
def verify_identifier(request: HttpRequest, identifier: str) -> HttpResponse:
    return render(
        request,
        "licences/verify.html",
        {"result": licence_verify_identifier(identifier), "identifier": identifier, "from_code": True},
    )


def share_token_hash(token: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"licence-share:{token}".encode(), hashlib.sha256).hexdigest()


def _share_or_gone(token: str) -> tuple[LicenceShare | None, str]:
    share = (
        LicenceShare.objects.filter(token_hash=share_token_hash(token))
        .select_related("licence__licence_type", "licence__issuer")
        .first()
    )
    if share is None:
        raise Http404
    if share.withdrawn_at is not None:
        return None, _("分享人已撤回该分享链接。")
    if share.expires_at <= timezone.now():
        return None, _("该分享链接已过期。")
    return share, ""


@require_GET
def shared(request: HttpRequest, token: str) -> HttpResponse:
    share, gone = _share_or_gone(token)
    if share is None:
        return render(request, "licences/share_gone.html", {"reason": gone}, status=410)
    LicenceShare.objects.filter(pk=share.pk).update(views=share.views + 1)
    result = licence_verify_identifier(share.licence.identifier)
    response = render(request, "licences/shared.html", {"share": share, "result": result, "token": token})
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def shared_download(request: HttpRequest, token: str) -> HttpResponseBase:
    share, gone = _share_or_gone(token)
    if share is None:
        return render(request, "licences/share_gone.html", {"reason": gone}, status=410)
    version = share.licence.versions.filter(version=share.licence.version).first()
    if version is None:
        raise Http404
    return licence_pdf_response(version)


def licence_pdf_response(version: object) -> FileResponse:
    document = version.document  # type: ignore[attr-defined]
    response = FileResponse(
        document.storage.open(document.name, "rb"),
        as_attachment=True,
        filename=f"{version.licence.licence_type.name}-{version.licence.number}.pdf",  # type: ignore[attr-defined]
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
