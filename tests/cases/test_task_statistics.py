"""The planner knows that open tasks are the unclaimed ones (migration cases 0009): the to-do
list's plan rests on that estimate."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from govhall.cases.models import CaseTask, TaskState
from tests.cases.factories import case_world, make_case

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's extended statistics"),
]


def _estimated_and_actual(sql: str) -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM ({sql}) counted")
        actual = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"], actual


def test_the_share_of_open_unclaimed_tasks_is_estimated_from_both_columns_together():
    world = case_world()
    case = make_case(world=world, until="submitted")
    now = timezone.now()
    # As in a live platform: a closed task keeps the officer who closed it, an open one waits.
    CaseTask.objects.bulk_create(
        CaseTask(
            case=case,
            step_key="accept",
            kind="accept",
            name="受理",
            department=case.department,
            role="window_clerk",
            state=TaskState.OPEN if number % 100 == 0 else TaskState.DONE,
            assignee=None if number % 100 == 0 else world.clerk,
            opened_at=now,
        )
        for number in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_casetask")

    estimated, actual = _estimated_and_actual(
        "SELECT id FROM cases_casetask WHERE state = 'open' AND assignee_id IS NULL"
    )

    # Taken as independent, the two shares (about 1 % each) would give about 1 % of the open ones.
    assert actual >= 30
    assert actual / 2 <= estimated <= actual * 2
