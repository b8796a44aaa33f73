"""Periodic jobs: what runs on its own, how often, under an explicit name.

Each job is a Django task (``@task()`` in an app's ``tasks.py``). ``govhall serve`` runs the
scheduler beside the web and task workers; it enqueues each job when its interval has passed
since its last run (several schedulers never enqueue the same run twice: the due row is claimed
with one conditional UPDATE). ``manage.py job_run <name>`` runs a job at once, in the
foreground, which is what an operator (and a test) does.
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of the task object
    every: timedelta
    description: str


# Apps add their jobs here (one line each).
JOBS: list[Job] = []
