"""Concurrent writers never chain to the same predecessor (PostgreSQL: the advisory lock), whether
they write their records at once or at the end of their transaction."""

import threading

import pytest
from django.db import connection, transaction

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
