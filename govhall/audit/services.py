"""Writing audit records. Records are only ever added: there is no update or delete service,
the admin shows them read-only, and database triggers (migration 0002) refuse UPDATE and DELETE.

Every record carries the hash of the one before it in its lane (govhall/audit/chain.py, ADR 29);
``audit_chain_verify`` in selectors.py walks the lanes.
"""

import ipaddress
import json
import os
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from govhall.audit.chain import GENESIS_HASH, audit_record_hash_of
from govhall.audit.models import AuditOutcome, AuditRecord
from govhall.queries import insert_compiled, rows_insert, values_list_compiled

# Any constant shared by every writer; with a lane's number, names the lock that orders that lane.
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


def audit_chain_lanes() -> int:
    """How many lanes the chain is written in (``GOVHALL_AUDIT_CHAIN_LANES``; ADR 29)."""
    return settings.GOVHALL_AUDIT_CHAIN_LANES  # from 1 to 1000, checked by the settings


def _lane_preferred(lanes: int) -> int:
    # A process asks for the same lane first each time, so that the writers of different
    # processes mostly find theirs free and try no other.
    return os.getpid() % lanes


def _chain_lock() -> None:
    """Take a lane of the chain for the rest of the transaction, so that no two writers chain to
    the same predecessor.

    PostgreSQL: ``audit_chain_lane`` (migration 0006) takes the transaction-scoped advisory lock
    of the first lane no other transaction holds, or waits for the preferred one when all are
    held, and keeps to it if this transaction holds one already: the next writer of the lane
    reads its last hash only after this transaction's records are committed (or rolled back).
    SQLite: every write transaction already begins IMMEDIATE (settings), which takes the single
    database write lock before the last hash is read; it writes lane 0 only.
    """
    if connection.vendor == "postgresql":
        lanes = audit_chain_lanes()
        with connection.cursor() as cursor:
            cursor.execute("SELECT audit_chain_lane(%s, %s, %s)", [AUDIT_CHAIN_LOCK, lanes, _lane_preferred(lanes)])


def _chain_locked_tip() -> tuple[int, str]:
    """Take a lane of the chain and read its last hash: on PostgreSQL in one round trip, by the
    function ``audit_chain_lane_tip`` (migration 0006, ADR 21 and 29), whose read sees what the
    lane's last holder committed; elsewhere as two steps, in lane 0."""
    if connection.vendor != "postgresql":
        _chain_lock()
        return 0, _last_hash()
    lanes = audit_chain_lanes()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_lane, chain_tip FROM audit_chain_lane_tip(%s, %s, %s)",
            [AUDIT_CHAIN_LOCK, lanes, _lane_preferred(lanes)],
        )
        lane, tip = cursor.fetchone()
    return lane, tip if tip is not None else GENESIS_HASH


def audit_chain_lock() -> None:
    """Take a lane of the audit chain now, for the rest of the transaction. A transaction that
    also locks rows other transactions update before they write their audit record (the
    figures' counter rows) takes it first, so that no transaction waits for a lane while it
    holds such a row (seen as deadlocks under the submission benchmark, when the chain was one
    lock). Not asked again of the database by a write ``_late_write`` makes after taking it."""
    if not connections[DEFAULT_DB_ALIAS].__dict__.get("govhall_chain_locked"):
        _chain_lock()


# ---------------------------------------------------------------------------------------------
# Written at the end of the transaction
#
# A lane of the chain is held from the first record of a transaction until it commits. When the
# chain was one lock, taken at the first record of a filing (three transactions, the files stored
# and the first step opened after it), it was held 22 ms of a 35 ms filing, and filings could not
# pass 1,000 / 22 a second whatever the machine (docs/adr/0015).

# Writes counts summed by key (at_transaction_end_summed): called once with every key's counts.
SummedWriter = Callable[[dict[Hashable, dict[str, int]]], None]


def _counts_added(into: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        into[name] = into.get(name, 0) + value


@dataclass
class _LateWrites:
    depth: int  # the atomic block the writes belong to (len(connection.atomic_blocks))
    records: list[AuditRecord] = field(default_factory=list)
    # The writes after the records, in order; a summed one (at_transaction_end_summed) with its writer.
    after: list[tuple[SummedWriter | None, Callable[[], None]]] = field(default_factory=list)
    sums: dict[SummedWriter, dict[Hashable, dict[str, int]]] = field(default_factory=dict)

    def adopt(self, nested: "_LateWrites") -> None:
        """Take over the records and writes of a block nested in this one, once its savepoint
        is released: they are written at this block's end, after what this block added before
        the nested one began and before what it adds after. Counts for a writer this block
        hands counts to already are added to its own, key by key, and written with them."""
        self.records += nested.records
        for writer, write in nested.after:
            if writer is None:
                self.after.append((None, write))
                continue
            theirs, mine = nested.sums[writer], self.sums.get(writer)
            if mine is None:
                self.sums[writer] = theirs
                self.after.append((writer, write))
                continue
            for key, counts in theirs.items():
                _counts_added(mine.setdefault(key, {}), counts)


def _late_stack() -> list[_LateWrites]:
    # On the thread's own connection, beside its atomic blocks. Not on ``connection``: that is
    # a proxy shared by every thread, whose own attributes every thread would see.
    wrapper = connections[DEFAULT_DB_ALIAS]
    stack = wrapper.__dict__.get("govhall_late_writes")
    if stack is None:
        stack = wrapper.__dict__["govhall_late_writes"] = []
    return stack


def _late_target() -> _LateWrites | None:
    """Where an audit record or a counter written now goes: the innermost ``audit_writes_at_end``
    block when it is the transaction's current atomic block. A write in a block nested inside it
    (a savepoint, which may roll back without the rest) is made at once, as without the block."""
    stack = connections[DEFAULT_DB_ALIAS].__dict__.get("govhall_late_writes")
    if stack and stack[-1].depth == len(connection.atomic_blocks):
        return stack[-1]
    return None


@contextmanager
def audit_writes_at_end() -> Iterator[None]:
    """Inside ``transaction.atomic()``: the audit records added in the block, and the writes
    handed to ``at_transaction_end`` (the figures' counters), are made when the block ends
    without an error, in the order they were added, the records first; so the chain's lane and
    the counters' rows are held only from then to the commit. The records are built (their time
    and content) when added; what fails the block discards them with its changes.

        with transaction.atomic(), audit_writes_at_end():
            ...
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_writes_at_end() belongs inside transaction.atomic()")
    late = _LateWrites(depth=len(connection.atomic_blocks))
    stack = _late_stack()
    stack.append(late)
    try:
        yield
    finally:
        stack.remove(late)
    _late_write(late)


@contextmanager
def atomic_audited() -> Iterator[None]:
    """``transaction.atomic()`` with ``audit_writes_at_end()``: a service's change whose audit
    records and counters are written as it ends.

    Begun directly inside another such block (a service calling services in its change: a
    bundle's submission files a case for each item), it is a savepoint whose records and
    writes, once it is released, are the enclosing block's, written at that block's end: the
    chain's lane is taken once, for the whole change, and only at its end (ADR 26). A nested
    block that fails takes its records with it, as before. Inside a plain savepoint of such a
    block (which may roll back alone), it writes at its own end, as any block does there."""
    enclosing = _late_target()
    if enclosing is None:
        with transaction.atomic(), audit_writes_at_end():
            yield
        return
    stack = _late_stack()
    with transaction.atomic():
        nested = _LateWrites(depth=len(connection.atomic_blocks))
        stack.append(nested)
        try:
            yield
        finally:
            stack.remove(nested)
    enclosing.adopt(nested)


def at_transaction_end(write: Callable[[], None]) -> None:
    """Run ``write`` (which takes row locks other transactions wait for) after the block's audit
    records when inside ``audit_writes_at_end``, else now."""
    late = _late_target()
    if late is None:
        write()
    else:
        late.after.append((None, write))


def at_transaction_end_summed(writer: SummedWriter, key: Hashable, counts: dict[str, int]) -> None:
    """``at_transaction_end`` for writes that add counts to rows named by keys (the figures'
    counters): inside ``audit_writes_at_end`` the counts handed to one ``writer`` are summed by
    key, and the writer is called once, where its first counts were handed over, with every
    key's sums, so that it can lock their rows in one order whatever order they came in; else
    it is called now with these counts alone. A draft begun and filed in one call adds to the
    same department's and item's rows twice; a bundle adds to several."""
    late = _late_target()
    if late is None:
        writer({key: dict(counts)})
        return
    sums = late.sums.get(writer)
    if sums is None:
        sums = late.sums[writer] = {}
        late.after.append((writer, partial(writer, sums)))
    _counts_added(sums.setdefault(key, {}), counts)


def _late_write(late: _LateWrites) -> None:
    if not late.records and not late.after:
        return
    with transaction.atomic(savepoint=False):
        # A lane of the chain first, before the counters' rows, as every writer takes them
        # (audit_chain_lock); with its last hash when there are records to chain.
        if late.records:
            lane, previous = _chain_locked_tip()
            for record in late.records:
                previous = _hashed(record, lane, previous)
            rows_insert(late.records)
        else:
            _chain_lock()
        # The writes after (the figures' counters) take a lane first; one is held already,
        # until the transaction ends: one round trip each saved.
        kept = connections[DEFAULT_DB_ALIAS].__dict__
        held_before = kept.get("govhall_chain_locked", False)
        kept["govhall_chain_locked"] = True
        try:
            for _writer, write in late.after:
                write()
        finally:
            kept["govhall_chain_locked"] = held_before


def _last_hash() -> str:
    """Lane 0's last hash (SQLite writes no other), read under the lock. Compiled once per
    process: building the statement took 0.13 of the 0.16 ms the read cost, held by every
    audited write."""
    rows = values_list_compiled("audit_last_hash", _last_hash_query)
    return rows[0][0] if rows else GENESIS_HASH


def _last_hash_query() -> QuerySet[AuditRecord, Any]:
    return AuditRecord.objects.filter(lane=0).order_by("-id").values_list("record_hash")[:1]


def _hashed(record: AuditRecord, lane: int, previous_hash: str) -> str:
    """Chain ``record`` to ``previous_hash`` in ``lane``; returns its own hash."""
    record.lane = lane
    record.previous_hash = previous_hash
    record.record_hash = audit_record_hash_of(record)
    return record.record_hash


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
    change it records. Inside ``audit_writes_at_end`` it is written when that block ends (the
    record returned has no id until then).

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
    late = _late_target()
    if late is not None:
        late.records.append(record)
        return record
    # No savepoint inside the change's transaction: a record that cannot be written fails the
    # change with it, so there is nothing to roll back to (a savepoint cost two statements).
    with transaction.atomic(savepoint=False):
        _hashed(record, *_chain_locked_tip())
        insert_compiled(record)
    return record
