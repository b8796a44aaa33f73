"""Staff pages for licences: the issuing department's licences, and suspending, resuming,
revoking and renewing one (reason required; each change recorded and audited)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govhall.accounts.guards import staff_assignments
from govhall.licences import guards, services
from govhall.licences.models import Licence
from govhall.licences.views_portal import EVENT_LABELS
from govhall.workbench.views import _page, _paginate

ACTIONS = {
    "suspend": services.licence_suspend,
    "resume": services.licence_resume,
    "revoke": services.licence_revoke,
}


def _issuing_departments(user: Any) -> set[int]:
    return {
        assignment.department_id
        for assignment in staff_assignments(user=user)
        if assignment.role in guards.MANAGING_ROLES
    }


@login_required
@require_GET
def licence_list(request: HttpRequest) -> HttpResponse:
    departments = _issuing_departments(request.user)
    licences = Licence.objects.filter(issuer_id__in=departments).select_related("licence_type", "issuer")
    query = (request.GET.get("q") or "").strip()[:64]
    if query:
        licences = licences.filter(Q(number__icontains=query) | Q(holder_name__icontains=query))
    return _page(
        request,
        "licences/workbench_list.html",
        {
            "page_obj": _paginate(request, licences.order_by("-issued_on", "-id")),
            "query": query,
            "allowed": bool(departments),
        },
    )


def _managed_or_404(request: HttpRequest, number: str) -> Licence:
    licence = Licence.objects.select_related("licence_type", "issuer").filter(number=number).first()
    if licence is None or not guards.licence_may_manage(user=request.user, licence=licence):
        raise Http404
    return licence


@login_required
@require_GET
def licence_manage(request: HttpRequest, number: str) -> HttpResponse:
    licence = _managed_or_404(request, number)
    return _page(
        request,
        "licences/workbench_detail.html",
        {
            "licence": licence,
            "versions": licence.versions.order_by("-version"),
            "events": [
                {
                    "at": event.at,
                    "label": EVENT_LABELS.get(event.action, event.action),
                    "actor": event.actor,
                    "reason": event.reason,
                }
                for event in licence.events.select_related("actor").order_by("-at")
            ],
        },
    )


@login_required
@require_POST
def licence_act(request: HttpRequest, number: str, action: str) -> HttpResponseBase:
    licence = _managed_or_404(request, number)
    reason = (request.POST.get("reason") or "").strip()
    try:
        if action == "renew":
            version = services.licence_renew(licence=licence, officer=request.user)
            messages.success(request, _("已签发第 %(version)s 版证照。") % {"version": version.version})
        elif action in ACTIONS:
            ACTIONS[action](licence=licence, officer=request.user, reason=reason)
            messages.success(request, _("证照状态已更新。"))
        else:
            raise Http404
    except services.LicenceRefused as refused:
        messages.error(request, refused.message)
    return redirect("workbench_licences:manage", number=licence.number)
