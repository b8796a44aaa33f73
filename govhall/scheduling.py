"""Periodic jobs: what runs on its own, how often, under an explicit name.

Each job is a Django task (``@task()`` in an app's ``tasks.py``). ``govhall serve`` runs the
scheduler beside the web and task workers; it enqueues each job when its interval has passed
since its last run (several schedulers never enqueue the same run twice: the due row is claimed
with one conditional UPDATE). ``manage.py job_run <name>`` runs a job at once, in the
foreground, which is what an operator (and a test) does.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)
# Key of the advisory lock schedulers take on PostgreSQL (any constant unique to this use).
SCHEDULER_LOCK = 0x60F4A11


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of the task object
    every: timedelta
    description: str


# Apps add their jobs here (one line each).
JOBS: list[Job] = [
    Job(
        name="search_popularity_move",
        task="govhall.catalog.tasks.search_popularity_move_task",
        every=timedelta(minutes=10),
        description="search documents' popularity levels follow the guide views (ADR 14)",
    ),
    Job(
        name="licences_expire",
        task="govhall.licences.tasks.licences_expire_task",
        every=timedelta(hours=6),
        description="licences whose validity ended become expired",
    ),
    Job(
        name="supervision_warnings_scan",
        task="govhall.supervision.tasks.supervision_warnings_scan",
        every=timedelta(minutes=10),
        description="time-limit, step, urging and refusal warnings raised, kept or cleared",
    ),
    Job(
        name="evaluations_followups_check",
        task="govhall.evaluations.tasks.evaluations_followups_check",
        every=timedelta(minutes=30),
        description="bad reviews not called back in 1 or not rectified in 15 working days warned",
    ),
    Job(
        name="evaluations_reminders_send",
        task="govhall.evaluations.tasks.evaluations_reminders_send",
        every=timedelta(hours=1),
        description="applicants who have not rated a closed case within the set days reminded once",
    ),
]


def job_find(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)


def job_task(job: Job) -> Any:
    return import_string(job.task)


def job_run_now(name: str) -> Any:
    """Run a job at once in this process (what `manage.py job_run` does)."""
    job = job_find(name)
    if job is None:
        raise KeyError(name)
    logger.info("job start", extra={"job": job.name})
    result = job_task(job).call()
    logger.info("job done", extra={"job": job.name})
    return result


def _last_enqueued(job: Job) -> datetime | None:
    from django_tasks_db.models import DBTaskResult

    path = job_task(job).module_path
    return DBTaskResult.objects.filter(task_path=path).aggregate(last=Max("enqueued_at"))["last"]


def _database_backend() -> bool:
    return str(settings.TASKS["default"]["BACKEND"]).startswith("django_tasks_db")


def jobs_enqueue_due(*, now: datetime | None = None, last_runs: dict[str, datetime] | None = None) -> list[str]:
    """Enqueue every job whose interval has passed since it was last enqueued.

    With the database task backend the last enqueue is read from the task table, under a
    transaction-scoped PostgreSQL advisory lock so that two schedulers never both enqueue the
    same run; other backends keep the times in ``last_runs`` (one scheduler per deployment).
    """
    now = now or timezone.now()
    enqueued: list[str] = []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULER_LOCK])
        for job in JOBS:
            if _database_backend():
                last = _last_enqueued(job)
            else:
                last = (last_runs or {}).get(job.name)
            if last is not None and now - last < job.every:
                continue
            job_task(job).enqueue()
            if last_runs is not None:
                last_runs[job.name] = now
            enqueued.append(job.name)
    return enqueued


def scheduler_loop(*, tick_seconds: float = 30.0, should_stop: Any = None) -> None:
    """Enqueue due jobs every ``tick_seconds`` until ``should_stop()`` answers true."""
    last_runs: dict[str, datetime] = {}
    while not (should_stop and should_stop()):
        try:
            names = jobs_enqueue_due(last_runs=last_runs)
            if names:
                logger.info("jobs enqueued", extra={"jobs": names})
        except Exception:  # a database restart must not end the scheduler
            logger.exception("scheduler tick failed")
        finally:
            close_old_connections()
        deadline = time.monotonic() + tick_seconds
        while time.monotonic() < deadline and not (should_stop and should_stop()):
            time.sleep(0.5)
