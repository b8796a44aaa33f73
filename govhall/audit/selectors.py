"""Reading the audit trail: verifying the hash chain."""

from dataclasses import dataclass

from govhall.audit.chain import GENESIS_HASH, audit_record_hash_of
from govhall.audit.models import AuditRecord


class ChainProblem:
    HASH_MISMATCH = "hash_mismatch"  # the row's content or its stored hash was changed
    GAP = "gap"  # previous_hash is not the predecessor's hash: a row before it was removed (or changed hash)


@dataclass(frozen=True)
class AuditChainReport:
    checked: int
    last_hash: str
    broken_id: int | None = None
    problem: str = ""
    expected: str = ""
    found: str = ""

    @property
    def is_intact(self) -> bool:
        return self.broken_id is None


def audit_chain_verify(*, chunk_size: int = 2000) -> AuditChainReport:
    """Walk the chain in id order, streaming, and stop at the first broken row.

    A changed row fails its own hash; a removed row shows as a gap at the row after it. Removing
    the newest rows leaves no gap behind: compare ``last_hash`` with a copy kept elsewhere (the
    command prints it) to detect that.
    """
    previous = GENESIS_HASH
    checked = 0
    for record in AuditRecord.objects.order_by("id").iterator(chunk_size=chunk_size):
        checked += 1
        if record.previous_hash != previous:
            return AuditChainReport(
                checked=checked,
                last_hash=previous,
                broken_id=record.pk,
                problem=ChainProblem.GAP,
                expected=previous,
                found=record.previous_hash,
            )
        recomputed = audit_record_hash_of(record)
        if record.record_hash != recomputed:
            return AuditChainReport(
                checked=checked,
                last_hash=previous,
                broken_id=record.pk,
                problem=ChainProblem.HASH_MISMATCH,
                expected=recomputed,
                found=record.record_hash,
            )
        previous = record.record_hash
    return AuditChainReport(checked=checked, last_hash=previous)
