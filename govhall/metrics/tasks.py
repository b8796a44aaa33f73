"""Background work of figures: the monthly report."""

from django_tasks import task

from govhall.metrics.reports import report_make


@task()
def report_make_task(report_id: int) -> str:
    """Make the XLSX and PDF of a requested monthly report, keeping its progress on the row."""
    return report_make(report_id).state
