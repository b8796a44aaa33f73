"""Audit records and counters written at the end of a transaction (``atomic_audited``): the
chain's lane and the counters' rows are held only from there to the commit."""

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from govhall.audit.models import AuditRecord
from govhall.audit.selectors import audit_chain_verify
from govhall.audit.services import at_transaction_end, at_transaction_end_summed, atomic_audited, audit_record_add

pytestmark = pytest.mark.django_db


def _add(summary: str) -> AuditRecord:
    return audit_record_add(actor=None, action="late", object_type="test", object_id=1, summary=summary)


def test_records_are_written_when_the_block_ends_in_the_order_added_and_chained():
    written_inside: list[int] = []
    with atomic_audited():
        first = _add("first")
        at_transaction_end(lambda: written_inside.append(AuditRecord.objects.filter(action="late").count()))
        _add("second")
        assert first.pk is None
        assert not AuditRecord.objects.filter(action="late").exists()

    assert list(AuditRecord.objects.filter(action="late").order_by("id").values_list("summary", flat=True)) == [
        "first",
        "second",
    ]
    assert written_inside == [2], "a write handed over runs after the block's records"
    assert audit_chain_verify().is_intact


def test_a_block_that_fails_writes_none_of_its_records():
    with pytest.raises(RuntimeError), atomic_audited():
        _add("lost")
        raise RuntimeError("the change fails")

    assert not AuditRecord.objects.filter(action="late").exists()


def test_a_record_of_a_savepoint_rolled_back_inside_the_block_is_gone_and_the_rest_kept():
    with atomic_audited():
        _add("kept")
        try:
            with transaction.atomic():
                _add("rolled back")
                raise ValueError("the nested change fails")
        except ValueError:
            pass
        _add("kept too")

    assert sorted(AuditRecord.objects.filter(action="late").values_list("summary", flat=True)) == ["kept", "kept too"]
    assert audit_chain_verify().is_intact


def takes_the_chains_lock(sql: str) -> bool:
    """A lane of the chain, alone or with its last hash in the same statement (migration 0006)."""
    return "pg_advisory_xact_lock" in sql or "audit_chain_lane" in sql


def recorder(name: str, written: list) -> Callable[[dict], None]:
    """A writer of summed counts (a new one each call) that notes what it was handed."""
    return lambda sums: written.append((name, {key: dict(counts) for key, counts in sums.items()}))


def test_the_chains_lock_is_taken_only_when_the_block_ends():
    if connection.vendor != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's advisory lock")
    with CaptureQueriesContext(connection) as captured, atomic_audited():
        _add("one")
        AuditRecord.objects.filter(action="nothing").exists()  # the change's own statements
        _add("two")
    statements = [query["sql"] for query in captured.captured_queries]
    lock = next(number for number, sql in enumerate(statements) if takes_the_chains_lock(sql))
    assert lock > next(number for number, sql in enumerate(statements) if "EXISTS" in sql or "LIMIT 1" in sql)
    assert sum('INSERT INTO "audit_auditrecord"' in sql for sql in statements) == 1  # both in one statement


def test_counts_handed_to_one_writer_in_a_block_are_summed_by_key_and_written_in_one_call():
    written: list[tuple[str, dict]] = []
    figures, other = recorder("figures", written), recorder("other", written)

    with atomic_audited():
        at_transaction_end_summed(figures, ("day", 1), {"started": 1})
        at_transaction_end_summed(other, ("day", 1), {"received": 1})
        at_transaction_end_summed(figures, ("day", 2), {"received": 1})
        at_transaction_end_summed(figures, ("day", 1), {"started": 1, "received": 1})
        with transaction.atomic():  # a savepoint, which may roll back alone: written at once
            at_transaction_end_summed(figures, ("day", 1), {"accepted": 1})
        assert written == [("figures", {("day", 1): {"accepted": 1}})]

    assert written == [
        ("figures", {("day", 1): {"accepted": 1}}),
        ("figures", {("day", 1): {"started": 2, "received": 1}, ("day", 2): {"received": 1}}),
        ("other", {("day", 1): {"received": 1}}),
    ]
    at_transaction_end_summed(figures, ("day", 1), {"started": 1})
    assert written[-1] == ("figures", {("day", 1): {"started": 1}})


def test_a_write_after_the_records_does_not_take_the_chains_lock_again():
    if connection.vendor != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's advisory lock")
    from govhall.audit.services import audit_chain_lock

    with CaptureQueriesContext(connection) as captured, atomic_audited():
        _add("first")
        at_transaction_end(audit_chain_lock)
        at_transaction_end(audit_chain_lock)

    assert sum(takes_the_chains_lock(query["sql"]) for query in captured.captured_queries) == 1
    with CaptureQueriesContext(connection) as outside, transaction.atomic():
        audit_chain_lock()
    assert sum(takes_the_chains_lock(query["sql"]) for query in outside.captured_queries) == 1


def test_a_block_nested_directly_in_another_hands_its_records_and_counts_to_it():
    """A service calling services in its change (a bundle's submission files its cases): the
    nested blocks' records and counters are written with the enclosing block's, at its end, in
    the order they were added, and the chain's lock is taken once."""
    written: list[tuple[str, dict]] = []
    figures, other = recorder("figures", written), recorder("other", written)

    with CaptureQueriesContext(connection) as captured, atomic_audited():
        _add("before")
        at_transaction_end_summed(figures, ("day", 1), {"started": 1})
        with atomic_audited():
            _add("nested")
            at_transaction_end_summed(figures, ("day", 1), {"received": 1})
            at_transaction_end_summed(figures, ("day", 2), {"received": 1})
            at_transaction_end_summed(other, ("day", 3), {"received": 1})
            with atomic_audited():
                _add("nested twice")
            at_transaction_end(lambda: written.append(("plain", {})))
        assert not AuditRecord.objects.filter(action="late").exists(), "nothing written before the end"
        assert written == []
        _add("after")

    assert list(AuditRecord.objects.filter(action="late").order_by("id").values_list("summary", flat=True)) == [
        "before",
        "nested",
        "nested twice",
        "after",
    ]
    assert written == [
        ("figures", {("day", 1): {"started": 1, "received": 1}, ("day", 2): {"received": 1}}),
        ("other", {("day", 3): {"received": 1}}),
        ("plain", {}),
    ]
    assert audit_chain_verify().is_intact
    if connection.vendor == "postgresql":
        statements = [query["sql"] for query in captured.captured_queries]
        assert sum(takes_the_chains_lock(sql) for sql in statements) == 1
        assert sum('INSERT INTO "audit_auditrecord"' in sql for sql in statements) == 1


def test_a_nested_block_that_fails_takes_its_records_and_counts_and_changes_with_it():
    written: list[str] = []
    with atomic_audited():
        _add("kept")
        try:
            with atomic_audited():
                _add("rolled back")
                at_transaction_end_summed(lambda sums: written.append("rolled back"), ("day", 1), {"started": 1})
                AuditRecord.objects.filter(pk=-1).exists()
                raise ValueError("the nested change fails")
        except ValueError:
            pass
        at_transaction_end(lambda: written.append("kept"))

    assert list(AuditRecord.objects.filter(action="late").values_list("summary", flat=True)) == ["kept"]
    assert written == ["kept"]
    assert audit_chain_verify().is_intact


def test_a_block_inside_a_plain_savepoint_writes_at_its_own_end_and_is_gone_if_the_savepoint_rolls_back():
    """A plain savepoint of an audited block may roll back alone, after a block nested in it
    ended: that block's records are written at its own end, inside the savepoint, not handed on."""
    with atomic_audited():
        _add("kept")
        try:
            with transaction.atomic():
                with atomic_audited():
                    _add("inside the savepoint")
                assert AuditRecord.objects.filter(summary="inside the savepoint").exists()
                raise ValueError("the savepoint rolls back")
        except ValueError:
            pass

    assert list(AuditRecord.objects.filter(action="late").values_list("summary", flat=True)) == ["kept"]
    assert audit_chain_verify().is_intact
