"""Case numbers stay unique when many applicants submit at the same moment (PostgreSQL)."""

import threading
from collections.abc import Callable
from datetime import date
from functools import partial

import pytest
from django.db import connection, transaction

from govhall.cases import sequences, services
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
    # Consecutive: the test database's sequences are kept between tests (ADR 28: committed at once).
    given = sorted(int(number[-6:]) for number in numbers)
    assert given == list(range(given[0], given[0] + SUBMITTERS))
    row = CaseNumberSequence.objects.get(region_code=cases[0].region_id, day=cases[0].received_on)
    assert row.last == given[-1]


@pytest.mark.django_db
def test_each_region_and_day_has_its_own_sequence():
    first = services._case_number(region_code="330106", day=date(2026, 9, 28))
    second = services._case_number(region_code="330106", day=date(2026, 9, 28))
    other_day = services._case_number(region_code="330106", day=date(2026, 9, 29))
    other_region = services._case_number(region_code="330110", day=date(2026, 9, 28))

    assert first.startswith("33010620260928") and len(first) == 20
    assert int(second[-6:]) == int(first[-6:]) + 1 and second[:14] == first[:14]
    assert other_day.startswith("33010620260929")
    assert other_region.startswith("33011020260928")
    sequence = CaseNumberSequence.objects.get(region_code="330110", day=date(2026, 9, 28))
    assert sequence.last == int(other_region[-6:])


def test_a_number_is_taken_at_once_and_kept_when_the_filing_rolls_back(transactional_db):
    """The number's row is not held until the filing commits (ADR 28): another filing of the
    region and day gets its number while the first is still open, and a filing that rolls back
    leaves its number unused rather than giving it again."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: its numbers stay in the filing's transaction")
    day = date(2026, 9, 30)
    numbered, release = threading.Event(), threading.Event()
    taken: list[str] = []

    def filing_that_fails() -> None:
        try:
            with transaction.atomic():
                taken.append(services._case_number(region_code="330106", day=day))
                numbered.set()
                release.wait(10)
                raise RuntimeError("the filing fails after its number")
        except RuntimeError:
            pass
        finally:
            sequences.sequences_close()
            connection.close()

    def another_filing() -> None:
        try:
            taken.append(services._case_number(region_code="330106", day=day))
        finally:
            sequences.sequences_close()
            connection.close()

    first, second = threading.Thread(target=filing_that_fails), threading.Thread(target=another_filing)
    first.start()
    try:
        assert numbered.wait(10)
        second.start()
        second.join(timeout=5)
        waited = second.is_alive()
    finally:
        release.set()
        first.join()
        second.join()
    after = services._case_number(region_code="330106", day=day)

    assert not waited, "the second filing waited for the first one's transaction"
    # Relative: an earlier test of this worker may have numbered cases that day (the rows are
    # committed at once and outlive the tests' rollbacks).
    given = [int(number[-6:]) for number in [*taken, after]]
    assert given == [given[0], given[0] + 1, given[0] + 2]
    assert CaseNumberSequence.objects.get(region_code="330106", day=day).last == given[2]


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
