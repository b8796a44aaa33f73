"""The holder's wallet (我的证照): own licences and those of companies one may act for;
download and share links."""

import secrets
from datetime import timedelta

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from govhall.accounts.selectors import person_acting_capacities
from govhall.accounts.views import citizen_login_required
from govhall.audit.services import audit_record_add
from govhall.licences import guards, selectors
from govhall.licences.models import Licence, LicenceShare
from govhall.licences.views_public import licence_pdf_response, share_token_hash

EVENT_LABELS = {
    "issue": _lazy("签发"),
    "renew": _lazy("延续/变更"),
    "suspend": _lazy("暂停"),
    "resume": _lazy("恢复"),
    "revoke": _lazy("注销"),
    "expire": _lazy("有效期届满"),
}
SHARE_DURATIONS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


def _licence_or_404(request: HttpRequest, number: str) -> Licence:
    licence = Licence.objects.select_related("licence_type", "issuer", "company").filter(number=number).first()
    if licence is None or not guards.licence_may_hold(user=request.user, licence=licence):
        raise Http404
    return licence


@citizen_login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    person = getattr(request.user, "person", None)
    own: QuerySet[Licence] | list[Licence] = selectors.licences_for_person(person=person) if person else []
    companies = []
    for capacity in person_acting_capacities(person=person) if person else []:
        # A company's licences are for its legal representative and agents for all its services.
        if capacity.as_legal_representative or capacity.all_services:
            companies.append((capacity.company, list(selectors.licences_for_company(company=capacity.company))))
    return render(
        request,
        "licences/wallet.html",
        {"own": [licence for licence in own if licence.company_id is None], "companies": companies},
    )


@citizen_login_required
@require_GET
def licence_detail(request: HttpRequest, number: str) -> HttpResponse:
    licence = _licence_or_404(request, number)
    now = timezone.now()
    shares = licence.shares.filter(withdrawn_at__isnull=True, expires_at__gt=now)
    new_link = request.session.pop("licence_share_link", None)
    return render(
        request,
        "licences/detail.html",
        {
            "licence": licence,
            "versions": licence.versions.order_by("-version"),
            "events": [
                {"at": event.at, "label": EVENT_LABELS.get(event.action, event.action), "reason": event.reason}
                for event in licence.events.order_by("-at")
            ],
            "field_rows": [
                (str(spec.get("label") or spec["name"]), str(licence.fields.get(spec["name"], "")))
                for spec in licence.licence_type.fields
            ],
            "shares": shares,
            "new_link": new_link if new_link and new_link.get("licence") == licence.number else None,
            "durations": [("1h", _("1 小时")), ("1d", _("1 天")), ("7d", _("7 天")), ("30d", _("30 天"))],
        },
    )


@citizen_login_required
@require_GET
def licence_download(request: HttpRequest, number: str) -> HttpResponseBase:
    licence = _licence_or_404(request, number)
    version = selectors.licence_current_version(licence)
    if version is None:
        raise Http404
    return licence_pdf_response(version)


@citizen_login_required
@require_POST
def share_create(request: HttpRequest, number: str) -> HttpResponseBase:
    licence = _licence_or_404(request, number)
    duration = SHARE_DURATIONS.get(request.POST.get("duration", ""))
    purpose = (request.POST.get("purpose") or "").strip()[:128]
    if duration is None:
        messages.error(request, _("请选择分享链接的有效时间。"))
        return redirect("licences_portal:detail", number=licence.number)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    share = LicenceShare.objects.create(
        licence=licence,
        token_hash=share_token_hash(token),
        purpose=purpose,
        created_by=request.user,  # type: ignore[misc]  # citizen_login_required: a User
        created_at=now,
        expires_at=now + duration,
    )
    audit_record_add(
        actor=request.user,
        action="licence_share",
        object_type="licence",
        object_id=licence.identifier,
        summary=f"{licence.licence_type.name} {licence.number}",
        data={"share": share.pk, "expires_at": share.expires_at.isoformat(), "purpose": purpose},
    )
    # The link is shown once (only its hash is kept).
    request.session["licence_share_link"] = {
        "licence": licence.number,
        "url": request.build_absolute_uri(f"/licences/shared/{token}/"),
    }
    return redirect("licences_portal:detail", number=licence.number)


@citizen_login_required
@require_POST
def share_withdraw(request: HttpRequest, number: str, share_id: int) -> HttpResponseBase:
    licence = _licence_or_404(request, number)
    updated = LicenceShare.objects.filter(pk=share_id, licence=licence, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    if updated:
        messages.success(request, _("分享链接已撤回，持有链接的人将无法再查看。"))
    return redirect("licences_portal:detail", number=licence.number)
