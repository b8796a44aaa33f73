"""Periodic jobs: enqueued when their interval has passed since the last enqueue, never twice."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from govhall import scheduling

pytestmark = pytest.mark.django_db

RUNS: list[str] = []


@task()
def sample_job() -> str:
    RUNS.append("ran")
    return "ok"


@pytest.fixture
def one_job(monkeypatch: pytest.MonkeyPatch) -> scheduling.Job:
    job = scheduling.Job(
        name="sample", task="tests.test_scheduling.sample_job", every=timedelta(minutes=10), description="test"
    )
    monkeypatch.setattr(scheduling, "JOBS", [job])
    return job


def test_a_job_is_enqueued_once_per_interval(one_job: scheduling.Job) -> None:
    assert scheduling.jobs_enqueue_due() == ["sample"]
    assert scheduling.jobs_enqueue_due() == []  # the second scheduler (or tick) finds it done
    assert DBTaskResult.objects.filter(task_path="tests.test_scheduling.sample_job").count() == 1
    later = timezone.now() + timedelta(minutes=11)
    assert scheduling.jobs_enqueue_due(now=later) == ["sample"]
    assert DBTaskResult.objects.filter(task_path="tests.test_scheduling.sample_job").count() == 2


def test_run_now_runs_in_the_foreground(one_job: scheduling.Job) -> None:
    RUNS.clear()
    assert scheduling.job_run_now("sample") == "ok"
    assert RUNS == ["ran"]
    with pytest.raises(KeyError):
        scheduling.job_run_now("unknown")


def test_every_registered_job_names_a_task() -> None:
    for job in scheduling.JOBS:
        assert scheduling.job_task(job).module_path == job.task, job.name
        assert job.every >= timedelta(minutes=1)
