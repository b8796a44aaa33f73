"""Figures follow every case action and every rating, in the same transaction."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from govhall.cases.models import Case
from govhall.cases.signals import case_event_recorded
from govhall.evaluations.signals import evaluation_recorded, evaluation_rectified
from govhall.metrics.services import figures_add, figures_for_case_event


@receiver(case_event_recorded, dispatch_uid="metrics_case_event")
def _case_event(sender: Any, case: Any, event: Any, **kwargs: Any) -> None:
    figures_for_case_event(case=case, event=event)


@receiver(post_save, sender=Case, dispatch_uid="metrics_case_started")
def _case_started(sender: Any, instance: Case, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """A draft begun: the base of the completion rate of started applications."""
    if created and not raw:
        figures_add(
            day=timezone.localdate(instance.created_at),
            department_id=instance.department_id,
            region_code=instance.region_id,
            counts={"started": 1},
            implementation_id=instance.implementation_id,
        )


@receiver(evaluation_recorded, dispatch_uid="metrics_evaluation")
def _evaluation(sender: Any, evaluation: Any, **kwargs: Any) -> None:
    if evaluation.follow_up_of_id is not None:
        return  # the follow-up rating is shown with the bad review, not counted again
    figures_add(
        day=timezone.localdate(evaluation.created_at),
        department_id=evaluation.department_id,
        region_code=evaluation.region_id,
        counts={"ratings": 1, "ratings_sum": evaluation.level, "ratings_bad": 1 if evaluation.is_bad else 0},
        implementation_id=evaluation.implementation_id,
    )


@receiver(evaluation_rectified, dispatch_uid="metrics_rectified")
def _rectified(sender: Any, evaluation: Any, **kwargs: Any) -> None:
    figures_add(
        day=timezone.localdate(),
        department_id=evaluation.department_id,
        region_code=evaluation.region_id,
        counts={"rectified": 1},
    )
