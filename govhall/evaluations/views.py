"""Rating a case (applicant) and following up bad reviews (department staff)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods

from govhall.accounts.views import citizen_login_required
from govhall.cases import selectors as cases
from govhall.evaluations import selectors, services
from govhall.evaluations.models import Level, Reason
from govhall.workbench.views import _page, _paginate

INDICATOR_LABELS = {
    "efficiency": _lazy("办事效率"),
    "guide": _lazy("办事指南准确性"),
    "convenience": _lazy("便捷程度"),
    "usability": _lazy("系统好用程度"),
}


def _form_context(case: Any, values: dict[str, Any], errors: dict[str, str], *, again: bool) -> dict[str, Any]:
    return {
        "case": case,
        "levels": Level.choices,
        "reasons": Reason.choices,
        "indicators": [] if again else [(name, str(label)) for name, label in INDICATOR_LABELS.items()],
        "values": values,
        "errors": errors,
        "again": again,
    }


def _posted(request: HttpRequest) -> dict[str, Any]:
    return {
        "level": request.POST.get("level", ""),
        "reasons": request.POST.getlist("reasons"),
        "comment": request.POST.get("comment", ""),
        "indicators": {name: request.POST.get(f"indicator_{name}", "") for name in INDICATOR_LABELS},
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
        values = _posted(request)
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
