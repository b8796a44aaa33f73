"""Background work of the catalogue."""

from django_tasks import task

from govhall.catalog.search import search_popularity_move


@task()
def search_popularity_move_task() -> int:
    """Search documents' popularity levels (and their postings') follow the guide views."""
    return search_popularity_move()
