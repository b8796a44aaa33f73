"""Reads of evaluations: the case page's panel, a department's bad reviews."""

from typing import Any

from django.db.models import QuerySet

from govhall.accounts.guards import staff_assignments
from govhall.evaluations.models import BadReviewFollowUp, Evaluation, FollowUpState
from govhall.evaluations.services import FOLLOW_UP_ROLES, evaluation_may_rate


def evaluation_panel(*, case: Any, user: Any) -> dict[str, Any]:
    first = Evaluation.objects.filter(case=case, follow_up_of__isnull=True).select_related("followup").first()
    followup = getattr(first, "followup", None) if first is not None else None
    again = Evaluation.objects.filter(follow_up_of=first).first() if first is not None else None
    return {
        "may_rate": evaluation_may_rate(user=user, case=case),
        "evaluation": first,
        "followup": followup,
        "again": again,
        "may_rate_again": bool(
            first is not None
            and followup is not None
            and followup.state == FollowUpState.RECTIFIED
            and again is None
            and first.evaluator_id == getattr(user, "pk", None)
        ),
    }


def followups_for_staff(*, user: Any) -> QuerySet[BadReviewFollowUp]:
    departments = {a.department_id for a in staff_assignments(user=user) if a.role in FOLLOW_UP_ROLES}
    return (
        BadReviewFollowUp.objects.filter(department_id__in=departments)
        .select_related("evaluation__case", "department")
        .order_by("state", "callback_due_on", "id")
    )
