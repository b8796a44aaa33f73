"""The hash chain over audit records.

Each record's hash covers a canonical JSON of its fields and the previous record's hash, so
changing a stored row breaks its own hash, and removing one breaks the link of the row after it.
This module is pure (no queries) so the data migration and the verifier compute the same thing.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# The first record of the chain has no predecessor; its previous_hash is this.
GENESIS_HASH = ""


def audit_record_canonical(
    *,
    created_at: datetime,
    actor_id: int | None,
    acting_for: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: str,
    data: Any,
    outcome: str,
    address: str,
    previous_hash: str,
) -> str:
    """The exact text that is hashed: sorted keys, no whitespace, UTF-8 characters kept.

    Time is written in UTC with microseconds so the value read back from either database (both
    store UTC to the microsecond) gives the same text as the value written.
    """
    return json.dumps(
        {
            "time": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor_id,
            "acting_for": acting_for,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "summary": summary,
            "data": data,
            "outcome": outcome,
            "address": address,
            "previous_hash": previous_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def audit_record_hash(**fields: Any) -> str:
    """SHA-256 (hex) of the canonical text of a record; takes the arguments of ``audit_record_canonical``."""
    return hashlib.sha256(audit_record_canonical(**fields).encode("utf-8")).hexdigest()


def audit_record_hash_of(record: Any) -> str:
    """The hash a stored record (model instance, current or historical) ought to carry."""
    return audit_record_hash(
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
