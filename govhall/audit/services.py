"""Writing audit records. Records are only ever added: there is no update or delete service,
the admin shows them read-only, and database triggers (migration 0002) refuse UPDATE and DELETE.

Every record carries the hash of the one before it (govhall/audit/chain.py); ``audit_chain_verify``
in selectors.py walks the chain.
"""

import ipaddress
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from govhall.audit.chain import GENESIS_HASH, audit_record_hash
from govhall.audit.models import AuditOutcome, AuditRecord

# Any constant shared by every writer; names the one lock that orders the audit chain.
AUDIT_CHAIN_LOCK = 0x61756469  # "audi"


def _address_normalised(address: str | None) -> str:
    """The address as text that reads back identically; an unparsable one is kept verbatim
    (truncated) rather than lost, since it is evidence."""
    if not address:
        return ""
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return address.strip()[:45]


def _data_normalised(data: dict | None) -> Any:
    # The stored JSON is what is hashed: dates, decimals and UUIDs become the text the database
    # returns, so the hash recomputed from a stored row matches.
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def _chain_lock() -> None:
    """Serialise writers so that no two chain to the same predecessor.

    PostgreSQL: a transaction-scoped advisory lock, held until the surrounding transaction ends,
    so the next writer reads the last hash only after this record is committed (or rolled back).
    SQLite: every write transaction already begins IMMEDIATE (settings), which takes the single
    database write lock before the last hash is read.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])


def audit_chain_lock() -> None:
    """Take the audit chain's lock now, for the rest of the transaction. A transaction that also
    locks rows other transactions update before they write their audit record (the figures'
    counter rows) takes it first, so that every transaction takes the two in the same order and
    none waits for the other in a circle (seen as deadlocks under the submission benchmark)."""
    _chain_lock()


def audit_record_add(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: str | int,
    summary: str,
    data: dict | None = None,
    acting_for: str = "",
    outcome: str = AuditOutcome.SUCCESS,
    address: str | None = None,
) -> AuditRecord:
    """Add one audit record, chained to the last one; call it inside the transaction of the
    change it records.

    ``acting_for`` names whom the actor acted for (``company:<credit code>``), ``outcome`` is
    success, failure or refused, ``address`` the client's IP address.
    """
    if outcome not in AuditOutcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    record = AuditRecord(
        created_at=timezone.now(),
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        acting_for=acting_for[:64],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:255],
        data=_data_normalised(data),
        outcome=str(outcome),
        address=_address_normalised(address),
    )
    # No savepoint inside the change's transaction: a record that cannot be written fails the
    # change with it, so there is nothing to roll back to (a savepoint cost two statements).
    with transaction.atomic(savepoint=False):
        _chain_lock()
        last = AuditRecord.objects.order_by("-id").values_list("record_hash", flat=True).first()
        record.previous_hash = last if last is not None else GENESIS_HASH
        record.record_hash = audit_record_hash(
            created_at=record.created_at,
            actor_id=record.actor_id,
            acting_for=record.acting_for,
            action=record.action,
            object_type=record.object_type,
            object_id=record.object_id,
            summary=record.summary,
            data=record.data,
            outcome=record.outcome,
            address=record.address,
            previous_hash=record.previous_hash,
        )
        record.save(force_insert=True)
    return record
