"""The audit trail is append-only and chained by hash: a changed or removed row is found by
``audit_chain_verify`` and ``manage.py audit_verify``. Tampering is simulated as an attacker with
database superuser rights, who can lift the append-only triggers."""

import contextlib
import datetime
import io
import itertools
from importlib import import_module

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from govhall.audit.chain import GENESIS_HASH, audit_record_hash_of
from govhall.audit.models import AuditRecord
from govhall.audit.selectors import ChainProblem, audit_chain_verify
from govhall.audit.services import audit_record_add
from tests.factories import make_implementation, make_staff

pytestmark = pytest.mark.django_db

append_only = import_module("govhall.audit.migrations.0002_append_only")


@contextlib.contextmanager
def triggers_lifted():
    """What a database superuser can do: switch the append-only triggers off, then on again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Foreign-key checks of the rows just written are deferred to commit; ALTER TABLE
            # needs them settled first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditrecord DISABLE TRIGGER USER")
        else:
            for statement in append_only.SQLITE_DROP.strip().split(";"):
                if statement.strip():
                    cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("ALTER TABLE audit_auditrecord ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                for statement in append_only.SQLITE_CREATE.strip().split("END;"):
                    if statement.strip():
                        cursor.execute(statement + "END;")


def _records(count=4):
    actor = make_staff(role="auditor", region_code="330000")
    return [
        audit_record_add(
            actor=actor,
            action="test_action",
            object_type="thing",
            object_id=number,
            summary=f"第{number}条",
            data={"when": datetime.date(2026, 1, number + 1), "nested": {"b": 2, "a": [1, "一"]}},
            acting_for="company:914403001922038216" if number % 2 else "",
            outcome="refused" if number == 2 else "success",
            address="2001:DB8::1" if number == 3 else "10.0.0.7",
        )
        for number in range(count)
    ]


def test_records_written_by_the_services_form_a_chain_that_verifies():
    make_implementation()  # the catalogue workflow writes its own audit records
    records = _records()

    report = audit_chain_verify()

    assert report.is_intact
    assert report.checked == AuditRecord.objects.count()
    assert report.last_hashes[records[-1].lane] == records[-1].record_hash


def test_each_record_carries_its_predecessors_hash_and_a_hash_of_itself_as_stored():
    records = _records()

    for before, after in itertools.pairwise(records):
        assert after.previous_hash == before.record_hash
    for record in records:
        stored = AuditRecord.objects.get(pk=record.pk)
        assert len(stored.record_hash) == 64
        assert stored.record_hash == audit_record_hash_of(stored)
    assert AuditRecord.objects.order_by("id").first().previous_hash == GENESIS_HASH


def test_the_new_fields_are_stored_as_given():
    records = _records()

    assert records[1].acting_for == "company:914403001922038216"
    assert records[2].outcome == "refused"
    assert AuditRecord.objects.get(pk=records[3].pk).address == "2001:db8::1"
    assert AuditRecord.objects.get(pk=records[0].pk).data["when"] == "2026-01-01"


def test_a_changed_summary_is_reported_at_that_row():
    records = _records()
    target = records[1]

    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET summary = %s WHERE id = %s", ["改写过的摘要", target.pk])
    report = audit_chain_verify()

    assert not report.is_intact
    assert report.broken_id == target.pk
    assert report.problem == ChainProblem.HASH_MISMATCH


def test_a_change_covered_by_a_recomputed_hash_breaks_the_link_of_the_next_row():
    records = _records()
    target = records[1]
    with triggers_lifted():
        forged = AuditRecord.objects.get(pk=target.pk)
        forged.summary = "改写过的摘要"
        forged.record_hash = audit_record_hash_of(forged)
        forged.save(update_fields=["summary", "record_hash"])

    report = audit_chain_verify()

    assert report.broken_id == records[2].pk
    assert report.problem == ChainProblem.GAP


def test_a_removed_middle_row_is_reported_as_a_gap_at_the_next_row():
    records = _records()

    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk])
    report = audit_chain_verify()

    assert report.broken_id == records[2].pk
    assert report.problem == ChainProblem.GAP
    assert report.expected == records[0].record_hash
    assert report.found == records[1].record_hash


@pytest.mark.parametrize(
    "tamper",
    [
        lambda record: AuditRecord.objects.filter(pk=record.pk).update(summary="改写"),
        lambda record: AuditRecord.objects.filter(pk=record.pk).delete(),
        lambda record: connection.cursor().execute("DELETE FROM audit_auditrecord WHERE id = %s", [record.pk]),
    ],
    ids=["orm-update", "orm-delete", "sql-delete"],
)
def test_the_application_cannot_change_or_remove_a_record(tamper):
    record = _records(1)[0]

    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        tamper(record)

    assert AuditRecord.objects.get(pk=record.pk).summary == record.summary


def test_two_records_cannot_chain_to_the_same_predecessor():
    record = _records(1)[0]
    fork = AuditRecord(
        action="fork",
        object_type="thing",
        object_id="1",
        summary="分叉",
        lane=record.lane,
        previous_hash=record.previous_hash,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save()


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome"):
        audit_record_add(actor=None, action="a", object_type="t", object_id=1, summary="s", outcome="maybe")


def test_verify_command_reports_the_count_and_succeeds_on_an_intact_chain():
    _records()
    out = io.StringIO()

    call_command("audit_verify", stdout=out)

    assert f"{AuditRecord.objects.count()} records checked" in out.getvalue()
    assert "intact" in out.getvalue()


def test_verify_command_names_the_broken_row_and_exits_non_zero():
    records = _records()
    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET outcome = %s WHERE id = %s", ["success", records[2].pk])
    err = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", stderr=err)

    assert exit_info.value.code == 1
    assert f"broken at record {records[2].pk}: hash mismatch" in err.getvalue()
    assert f"{AuditRecord.objects.filter(pk__lte=records[2].pk).count()} records checked" in err.getvalue()


def _lanes_interleaved(lanes=(900, 901), each=3) -> list[AuditRecord]:
    """Records of two lanes in turn, chained lane by lane as the services chain them (lanes no
    writer of these tests takes, so each begins at ``GENESIS_HASH``)."""
    tips = dict.fromkeys(lanes, GENESIS_HASH)
    records = []
    for number in range(each * len(lanes)):
        lane = lanes[number % len(lanes)]
        record = AuditRecord(action="lanes", object_type="lane", object_id=str(lane), summary=f"{lane}-{number}")
        record.lane, record.previous_hash = lane, tips[lane]
        record.record_hash = tips[lane] = audit_record_hash_of(record)
        record.save()
        records.append(record)
    return records


def test_lanes_written_in_turn_each_verify_as_a_chain_of_their_own():
    records = _lanes_interleaved()

    report = audit_chain_verify()

    assert report.is_intact
    assert report.last_hashes[900] == records[-2].record_hash
    assert report.last_hashes[901] == records[-1].record_hash
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert f"lane 900: last hash {records[-2].record_hash}" in out.getvalue()
    assert f"lane 901: last hash {records[-1].record_hash}" in out.getvalue()


def test_a_row_removed_from_one_lane_is_a_gap_at_that_lanes_next_row():
    records = _lanes_interleaved()
    removed = records[2]  # lane 900's second record; lane 901's records come between

    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE id = %s", [removed.pk])
    report = audit_chain_verify()

    assert report.broken_id == records[4].pk
    assert report.problem == ChainProblem.GAP
    assert (report.expected, report.found) == (records[0].record_hash, removed.record_hash)


def test_a_record_moved_to_another_lane_breaks_both():
    records = _lanes_interleaved()

    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET lane = 901 WHERE id = %s", [records[2].pk])
    report = audit_chain_verify()

    assert report.broken_id == records[2].pk
    assert report.problem == ChainProblem.GAP
