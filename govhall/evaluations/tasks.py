"""Background work of evaluations."""

from django_tasks import task

from govhall.evaluations.services import followups_check


@task()
def evaluations_followups_check() -> int:
    """Overdue call-backs and rectifications of bad reviews become red warnings."""
    return followups_check()
