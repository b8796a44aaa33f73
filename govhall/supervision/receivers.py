"""Warnings follow the cases' own actions at once, in the action's transaction."""

from typing import Any

from django.dispatch import receiver

from govhall.cases.models import CaseState
from govhall.cases.signals import case_event_recorded
from govhall.supervision.models import Warning, WarningRule

CLOSING_ACTIONS = {"deliver", "refuse", "withdraw", "auto_approve"}


@receiver(case_event_recorded, dispatch_uid="supervision_case_event")
def _case_event(sender: Any, case: Any, event: Any, **kwargs: Any) -> None:
    from govhall.supervision import rules

    if case.state in (CaseState.COMPLETED, CaseState.REFUSED, CaseState.WITHDRAWN):
        # One UPDATE: the case's time warnings and its steps' warnings end with it.
        Warning.objects.filter(
            case_id=case.pk,
            rule__in=(WarningRule.TIME_LIMIT, WarningRule.STEP_OVERDUE),
            cleared_at__isnull=True,
        ).update(cleared_at=event.at, cleared_how="case_closed")
    if event.action == "refuse" and (not case.refusal_reasons.strip() or not case.legal_remedy.strip()):
        rules.refusal_warning(case=case, now=event.at)
    if event.action == "correction_notify":
        notice = case.corrections.order_by("-issued_at", "-id").first()
        if notice is not None and notice.late:
            rules.late_correction_warning(notice=notice, now=event.at)
