"""Background work of supervision."""

from django_tasks import task

from govhall.supervision.rules import scan


@task()
def supervision_warnings_scan() -> dict[str, int]:
    """Raise, keep and clear the warnings of every rule (govhall/supervision/rules.py)."""
    return scan()
