"""Rating a case (applicant) and following up bad reviews (department staff)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from govhall.accounts.views import citizen_login_required
from govhall.cases import selectors as cases
from govhall.evaluations import selectors, services
from govhall.evaluations.models import Channel, Level, Reason
from govhall.workbench.views import _page, _paginate

INDICATOR_LABELS = {
    "efficiency": _lazy("办事效率"),
    "guide": _lazy("办事指南准确性"),
    "convenience": _lazy("便捷程度"),
    "usability": _lazy("系统好用程度"),
    "attitude": _lazy("服务态度"),
    "waiting": _lazy("等候时间"),
    "environment": _lazy("大厅环境"),
}


def _form_context(
    case: Any, values: dict[str, Any], errors: dict[str, str], *, again: bool, channel: str = Channel.ONLINE
) -> dict[str, Any]:
    names = services.indicators_for(case=case, channel=channel)
    return {
        "case": case,
        "levels": Level.choices,
        "reasons": Reason.choices,
        "indicators": [] if again else [(name, str(INDICATOR_LABELS[name])) for name in names],
        "values": values,
        "errors": errors,
        "again": again,
    }


def _posted(request: HttpRequest, *, case: Any, channel: str = Channel.ONLINE) -> dict[str, Any]:
    return {
        "level": request.POST.get("level", ""),
        "reasons": request.POST.getlist("reasons"),
        "comment": request.POST.get("comment", ""),
        "indicators": {
            name: request.POST.get(f"indicator_{name}", "")
            for name in services.indicators_for(case=case, channel=channel)
        },
    }


@citizen_login_required
@require_http_methods(["GET", "POST"])
def case_rate(request: HttpRequest, number: str, again: bool = False) -> HttpResponseBase:
    """The rating form of a closed case; on a problem it comes back with everything typed."""
    case = cases.case_get_for_applicant(number=number, user=request.user)
    if case is None:
        raise Http404
    panel = selectors.evaluation_panel(case=case, user=request.user)
    if not (panel["may_rate_again"] if again else panel["may_rate"]):
        return redirect("cases_portal:detail", reference=number)
    values: dict[str, Any] = {"level": "", "reasons": [], "comment": "", "indicators": {}}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _posted(request, case=case)
        try:
            if again:
                services.evaluation_follow_up_submit(
                    evaluation=panel["evaluation"],
                    user=request.user,
                    level=values["level"],
                    reasons=values["reasons"],
                    comment=values["comment"],
                )
            else:
                services.evaluation_submit(
                    case=case,
                    user=request.user,
                    level=values["level"],
                    reasons=values["reasons"],
                    comment=values["comment"],
                    indicators=values["indicators"],
                )
        except services.EvaluationRefused as refused:
            errors = refused.errors
        else:
            messages.success(request, _("感谢您的评价。"))
            return redirect("cases_portal:detail", reference=number)
    return render(
        request,
        "evaluations/rate.html",
        _form_context(case, values, errors, again=again),
        status=422 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def invited_rate(request: HttpRequest, token: str) -> HttpResponseBase:
    """The page of the SMS link and of the window screen: no signing in, the link is the key;
    on a problem it comes back with everything chosen and typed."""
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationInvalid as invalid:
        return render(request, "evaluations/invited.html", {"invalid": invalid.message}, status=410)
    kiosk = invitation.channel == Channel.WINDOW
    values: dict[str, Any] = {"level": "", "reasons": [], "comment": "", "indicators": {}}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _posted(request, case=invitation.case, channel=invitation.channel)
        try:
            services.invitation_rate(
                invitation=invitation,
                level=values["level"],
                reasons=values["reasons"],
                comment=values["comment"],
                indicators=values["indicators"],
            )
        except services.InvitationInvalid as invalid:
            return render(request, "evaluations/invited.html", {"invalid": invalid.message}, status=410)
        except services.EvaluationRefused as refused:
            errors = refused.errors
        else:
            return redirect(reverse("evaluations:invited_done") + ("?window=1" if kiosk else ""))
    context = _form_context(invitation.case, values, errors, again=False, channel=invitation.channel)
    context["kiosk"] = kiosk
    response = render(request, "evaluations/invited.html", context, status=422 if errors else 200)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never hand it on
    return response


@require_GET
def invited_done(request: HttpRequest) -> HttpResponse:
    return render(request, "evaluations/invited_done.html", {"window": request.GET.get("window") == "1"})


@login_required
@require_POST
def window_open(request: HttpRequest, number: str) -> HttpResponseBase:
    """A clerk opens the rating screen of a closed case to hand to the applicant (窗口评价器)."""
    from govhall.cases.selectors import case_get_for_officer

    case = case_get_for_officer(number=number, officer=request.user)
    if case is None:
        raise Http404
    try:
        invitation = services.invitation_for_window(case=case, clerk=request.user)
    except services.EvaluationRefused as refused:
        messages.error(request, next(iter(refused.errors.values())))
        return redirect("workbench:case_detail", number=number)
    return redirect("evaluations:invited", token=services.invitation_token(invitation))


@login_required
@require_GET
def followup_list(request: HttpRequest) -> HttpResponse:
    followups = selectors.followups_for_staff(user=request.user)
    return _page(
        request,
        "evaluations/followups.html",
        {"page_obj": _paginate(request, followups), "today": timezone.localdate()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def followup_detail(request: HttpRequest, followup_id: int) -> HttpResponse:
    followup = selectors.followups_for_staff(user=request.user).filter(pk=followup_id).first()
    if followup is None:
        raise Http404
    note, error = "", ""
    if request.method == "POST":
        note = request.POST.get("note", "")
        record = (
            services.followup_callback_record
            if request.POST.get("step") == "callback"
            else services.followup_rectification_record
        )
        try:
            record(followup=followup, officer=request.user, note=note)
        except services.EvaluationRefused as refused:
            error = next(iter(refused.errors.values()))
        else:
            messages.success(request, _("已记录。"))
            note = ""
            followup.refresh_from_db()
    return _page(request, "evaluations/followup_detail.html", {"followup": followup, "note": note, "error": error})


@require_GET
def published(request: HttpRequest) -> HttpResponse:
    """好差评结果公开: satisfaction per department, item or hall for a region and period, with bad
    reviews and their rectification in aggregate; nothing that names a person."""
    from govhall.metrics.views import period_of
    from govhall.portal.forms import region_choices

    choices = region_choices()
    codes = {code for code, _label in choices}
    region = request.GET.get("region", "")
    if region not in codes:
        region = choices[0][0] if choices else ""
    by = request.GET.get("by", "department")
    by = by if by in selectors.PUBLISHED_BY else "department"
    period, start, end = period_of(request)
    figures = selectors.satisfaction_published(region=region, start=start, end=end, by=by) if region else None
    return render(
        request,
        "evaluations/published.html",
        {
            "figures": figures,
            "region": region,
            "regions": choices,
            "by": by,
            "groupings": [("department", _("按部门")), ("item", _("按事项")), ("hall", _("按大厅"))],
            "period": period,
            "periods": [
                ("month", _("本月")),
                ("last_month", _("上月")),
                ("year", _("本年")),
                ("custom", _("自定义")),
            ],
            "start": start,
            "end": end,
        },
    )
