"""Background work of evaluations."""

from django_tasks import task

from govhall.evaluations.services import followups_check, reminders_send


@task()
def evaluations_followups_check() -> int:
    """Overdue call-backs and rectifications of bad reviews become red warnings."""
    return followups_check()


@task()
def evaluations_reminders_send() -> int:
    """Applicants who have not rated a closed case within the set days are reminded once."""
    return reminders_send()
