"""Concurrent writers never chain to the same predecessor (PostgreSQL: each lane's advisory lock),
whether they write their records at once or at the end of their transaction, and wait for each
other only when every lane is held (ADR 29)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import override_settings

from govhall.audit.models import AuditRecord
from govhall.audit.selectors import audit_chain_verify
from govhall.audit.services import atomic_audited, audit_record_add

WRITERS, RECORDS_EACH = 4, 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(regions_kept):
    """Half the writers write at once, half at the end of their transactions (two records each)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself (BEGIN IMMEDIATE); the lock under test is PostgreSQL's")
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for number in range(0, RECORDS_EACH, 2):
                with transaction.atomic() if writer % 2 else atomic_audited():
                    for summary in (str(number), str(number + 1)):
                        audit_record_add(
                            actor=None, action="concurrent", object_type="writer", object_id=writer, summary=summary
                        )
        except BaseException as failure:  # noqa: BLE001 - reported to the test thread below
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert AuditRecord.objects.filter(action="concurrent").count() == WRITERS * RECORDS_EACH
    # Each writer's records in its order.
    for writer in range(WRITERS):
        summaries = AuditRecord.objects.filter(object_id=str(writer)).order_by("id").values_list("summary", flat=True)
        assert list(summaries) == [str(number) for number in range(RECORDS_EACH)]
    report = audit_chain_verify()
    assert report.is_intact
    assert report.checked == AuditRecord.objects.count()


@pytest.mark.django_db(transaction=True)
def test_each_thread_writes_its_own_records_at_the_end_of_its_own_transaction(regions_kept):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite allows one writer at a time; two open transactions are PostgreSQL's case")
    first_open, second_open, first_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with atomic_audited():
                first_open.set()
                second_open.wait(5)
                audit_record_add(actor=None, action="own", object_type="thread", object_id=1, summary="first")
            seen["first"] = AuditRecord.objects.filter(action="own", summary="first").exists()
        except BaseException as failure:  # noqa: BLE001 - reported to the test thread below
            failures.append(failure)
        finally:
            first_done.set()
            connection.close()

    def second() -> None:
        try:
            first_open.wait(5)
            with atomic_audited():
                second_open.set()
                first_done.wait(5)  # still open while the first thread ends its block
                audit_record_add(actor=None, action="own", object_type="thread", object_id=2, summary="second")
        except BaseException as failure:  # noqa: BLE001
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert seen == {"first": True}, "the first thread's record was written by its own transaction"
    assert audit_chain_verify().is_intact


@pytest.mark.django_db(transaction=True)
@override_settings(GOVHALL_AUDIT_CHAIN_LANES=1)
def test_a_writer_that_waited_for_the_lock_chains_to_the_record_committed_meanwhile(regions_kept):
    """With every lane held (here the only one), a writer waits for its lane. It asks for the
    lane and its last hash in one statement (``audit_chain_lane_tip``): its read must see the
    record the holder committed while it waited, which the snapshot its statement began with
    does not hold."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself (BEGIN IMMEDIATE); the lock under test is PostgreSQL's")
    holding, waiter_seen = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                audit_record_add(actor=None, action="tip", object_type="thread", object_id=1, summary="holder")
                holding.set()
                waiter_seen.wait(10)
        except BaseException as failure:  # noqa: BLE001 - reported to the test thread below
            failures.append(failure)
        finally:
            connection.close()

    def waiter() -> None:
        try:
            holding.wait(10)
            with atomic_audited():
                audit_record_add(actor=None, action="tip", object_type="thread", object_id=2, summary="waiter")
        except BaseException as failure:  # noqa: BLE001
            failures.append(failure)
        finally:
            connection.close()

    def waiting_on_the_chain() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            return cursor.fetchone()[0] > 0

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while not waiting_on_the_chain() and time.monotonic() < deadline:
        time.sleep(0.02)
    waited = waiting_on_the_chain()
    waiter_seen.set()
    for thread in threads:
        thread.join()

    assert failures == []
    assert waited, "the waiter never waited on the chain's lock"
    held, after = AuditRecord.objects.filter(action="tip").order_by("id")
    assert (held.summary, after.summary) == ("holder", "waiter")
    assert after.previous_hash == held.record_hash
    assert audit_chain_verify().is_intact


@pytest.mark.django_db(transaction=True)
@override_settings(GOVHALL_AUDIT_CHAIN_LANES=2)
def test_a_writer_takes_a_free_lane_instead_of_waiting_for_a_held_one(regions_kept):
    """Two transactions of one process prefer the same lane; while the first holds it, the
    second writes in the other lane at once, and both lanes verify."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself (BEGIN IMMEDIATE); the lanes are PostgreSQL's")
    holding, other_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                audit_record_add(actor=None, action="lanes", object_type="thread", object_id=1, summary="holder")
                holding.set()
                if not other_done.wait(10):
                    raise AssertionError("the other writer waited for the held lane")
        except BaseException as failure:  # noqa: BLE001 - reported to the test thread below
            failures.append(failure)
        finally:
            connection.close()

    def other() -> None:
        try:
            holding.wait(10)
            for summary in ("other", "other again"):
                with atomic_audited():
                    audit_record_add(actor=None, action="lanes", object_type="thread", object_id=2, summary=summary)
            other_done.set()
        except BaseException as failure:  # noqa: BLE001
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    held, first, second = AuditRecord.objects.filter(action="lanes").order_by("summary")
    assert (held.summary, first.summary, second.summary) == ("holder", "other", "other again")
    assert held.lane != first.lane == second.lane
    assert second.previous_hash == first.record_hash
    report = audit_chain_verify()
    assert report.is_intact
    assert report.last_hashes[held.lane] == held.record_hash
    assert report.last_hashes[first.lane] == second.record_hash
