"""A case that closes invites its applicant to rate the service (SMS link and message centre)."""

from typing import Any

from django.dispatch import receiver

from govhall.cases.signals import case_event_recorded
from govhall.evaluations.services import RATEABLE_STATES, invitation_on_close


@receiver(case_event_recorded, dispatch_uid="evaluations_invite_on_close")
def _case_event(sender: Any, case: Any, event: Any, **kwargs: Any) -> None:
    closed = case.state in RATEABLE_STATES and (
        event.action == "refuse" or (case.completed_at is not None and case.completed_at == event.at)
    )
    if closed:
        invitation_on_close(case=case)  # in the action's transaction, like every receiver
