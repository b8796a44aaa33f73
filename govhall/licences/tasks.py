"""Background work of licences."""

from django_tasks import task

from govhall.licences.services import licences_expire


@task()
def licences_expire_task() -> int:
    """Licences whose validity ended become expired (each change recorded)."""
    return licences_expire()
