"""Workbench pages of supervision: current warnings in one's scope (drill down by region, filter
by level and rule), urging a department about chosen cases, urgings and their answers."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govhall.accounts.guards import staff_regions_for_role
from govhall.accounts.models import Role
from govhall.cases.models import Case
from govhall.org.models import Department, Region
from govhall.supervision import selectors, services
from govhall.supervision.models import Warning, WarningLevel, WarningRule
from govhall.workbench.views import _page, _paginate


def _supervisor_regions(user: Any) -> list[Region]:
    return staff_regions_for_role(user=user, role=Role.SUPERVISOR)


@login_required
@require_GET
def warning_list(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level") if request.GET.get("level") in WarningLevel.values else None
    rule = request.GET.get("rule") if request.GET.get("rule") in WarningRule.values else None
    region_code = (request.GET.get("region") or "").strip()[:12] or None
    cleared = request.GET.get("cleared") == "1"
    if cleared:
        warnings = selectors.warnings_cleared(user=request.user).order_by("-cleared_at")
    else:
        warnings = selectors.warnings_open(user=request.user, level=level, rule=rule, region=region_code)
    region = Region.objects.filter(code=region_code).first() if region_code else None
    scopes = _supervisor_regions(request.user)
    drill = []
    base = region or (scopes[0] if len(scopes) == 1 else None)
    if base is not None:
        drill = list(Region.objects.filter(parent=base).order_by("code"))
    return _page(
        request,
        "supervision/warnings.html",
        {
            "page_obj": _paginate(request, warnings),
            "counts": selectors.warning_counts(user=request.user, region=region_code),
            "level": level or "",
            "rule": rule or "",
            "rules": WarningRule.choices,
            "region": region,
            "drill": drill,
            "cleared": cleared,
            "may_urge": bool(scopes),
        },
    )


@login_required
@require_POST
def urge_create(request: HttpRequest) -> HttpResponseBase:
    warning_ids = [int(value) for value in request.POST.getlist("warning") if value.isdigit()]
    visible = selectors.warnings_open(user=request.user).filter(pk__in=warning_ids, case__isnull=False)
    chosen: list[Warning] = list(visible)
    message = (request.POST.get("message") or "").strip()
    if not chosen:
        messages.error(request, _("请选择要督办的办件。"))
        return redirect("supervision:warnings")
    by_department: dict[int, list[Case]] = {}
    for warning in chosen:
        if warning.case is not None:
            by_department.setdefault(warning.department_id, []).append(warning.case)
    made = 0
    for department_id, cases in by_department.items():
        department = Department.objects.select_related("region").get(pk=department_id)
        try:
            services.urge_create(
                supervisor=request.user, department=department, cases=list(dict.fromkeys(cases)), message=message
            )
            made += 1
        except services.SupervisionRefused as refused:
            messages.error(request, refused.message)
            return redirect("supervision:warnings")
    messages.success(request, _("已向%(count)s个部门发出督办。") % {"count": made})
    return redirect("supervision:urges")


@login_required
@require_GET
def urge_list(request: HttpRequest) -> HttpResponse:
    urges = selectors.urges_visible(user=request.user).order_by("state", "answer_due_on")
    return _page(
        request,
        "supervision/urges.html",
        {
            "page_obj": _paginate(request, urges),
            "answerable": {urge.pk for urge in urges if services.urge_may_answer(user=request.user, urge=urge)},
        },
    )


@login_required
@require_POST
def urge_answer(request: HttpRequest, urge_id: int) -> HttpResponseBase:
    urge = selectors.urges_visible(user=request.user).filter(pk=urge_id).first()
    if urge is None:
        raise Http404
    try:
        services.urge_answer(urge=urge, officer=request.user, answer=request.POST.get("answer") or "")
        messages.success(request, _("已回复督办。"))
    except services.SupervisionRefused as refused:
        messages.error(request, refused.message)
    return redirect("supervision:urges")


@login_required
@require_POST
def warning_clear(request: HttpRequest, warning_id: int) -> HttpResponseBase:
    warning = selectors.warnings_open(user=request.user).filter(pk=warning_id).first()
    if warning is None:
        raise Http404
    try:
        services.warning_clear_by_supervisor(
            warning=warning, supervisor=request.user, note=request.POST.get("note") or ""
        )
        messages.success(request, _("预警已解除。"))
    except services.SupervisionRefused as refused:
        messages.error(request, refused.message)
    return redirect("supervision:warnings")
