"""Case numbers stay unique when many applicants submit at the same moment (PostgreSQL)."""

import threading
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection

from govhall.cases import services
from govhall.cases.models import Case, CaseNumberSequence
from tests.cases.factories import case_world, make_draft
from tests.factories import make_person

SUBMITTERS = 8


def at_once(calls: list[Callable[[], Case]]) -> tuple[list[Case], list[BaseException]]:
    """Run each call on its own thread and connection, all released together; returns the cases
    they returned and what they raised."""
    start = threading.Barrier(len(calls))
    results: list[Case] = []
    failures: list[BaseException] = []

    def run(call: Callable[[], Case]) -> None:
        try:
            start.wait()
            results.append(call())
        except BaseException as failure:  # noqa: BLE001 - reported to the test thread
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


def test_concurrent_submissions_get_distinct_consecutive_numbers(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the upsert under test matters on PostgreSQL")
    world = case_world()
    people = [world.applicant] + [make_person(name=f"申请人{index}", level=2) for index in range(SUBMITTERS - 1)]
    drafts = [make_draft(world=world, person=person) for person in people]

    cases, failures = at_once(
        [
            partial(services.case_submit, case=draft, user=draft.applicant, submit_key=f"concurrent-{draft.pk}")
            for draft in drafts
        ]
    )
    numbers = [case.number for case in cases]

    assert failures == []
    assert len(set(numbers)) == SUBMITTERS
    assert sorted(int(number[-6:]) for number in numbers) == list(range(1, SUBMITTERS + 1))
    assert CaseNumberSequence.objects.get().last == SUBMITTERS


@pytest.mark.django_db
def test_each_region_and_day_has_its_own_sequence():
    from datetime import date

    first = services._case_number(region_code="330106", day=date(2026, 9, 28))
    second = services._case_number(region_code="330106", day=date(2026, 9, 28))
    other_day = services._case_number(region_code="330106", day=date(2026, 9, 29))
    other_region = services._case_number(region_code="330110", day=date(2026, 9, 28))
    assert (first, second) == ("33010620260928000001", "33010620260928000002")
    assert other_day == "33010620260929000001"
    assert other_region == "33011020260928000001"


def test_concurrent_submissions_with_one_idempotency_key_make_one_case(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    world = case_world()
    # Two drafts of the same applicant (two items) raced with one key, as two retries might.
    drafts = [make_draft(world=world), make_draft(world=world, implementation=world.immediate_implementation)]
    results, failures = at_once(
        [partial(services.case_submit, case=draft, user=draft.applicant, submit_key="one-key") for draft in drafts]
    )

    assert failures == []
    assert len({case.pk for case in results}) == 1
    assert Case.objects.filter(submit_key="one-key").count() == 1


@pytest.mark.parametrize("draft_before", [False, True], ids=["drafts-made", "draft-resumed"])
def test_concurrent_filings_in_one_call_with_one_key_make_one_case_and_leave_no_draft(transactional_db, draft_before):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    world = case_world()
    implementation = world.immediate_implementation
    draft = make_draft(world=world, implementation=implementation)
    data = dict(draft.data)
    if not draft_before:
        draft.delete()
    user = world.applicant.user
    file = partial(services.case_file, user=user, implementation=implementation, data=data, submit_key="one-call-key")

    results, failures = at_once([file] * 4)

    assert failures == []
    assert len({case.pk for case in results}) == 1
    assert Case.objects.filter(submit_key="one-call-key").count() == 1
    # The requests that lost the race made no draft of their own (their transaction rolled back).
    assert Case.objects.filter(applicant=world.applicant.user).count() == 1
