"""Reading the audit trail: verifying the hash chain's lanes."""

from dataclasses import dataclass, field

from govhall.audit.chain import GENESIS_HASH, audit_record_hash_of
from govhall.audit.models import AuditRecord


class ChainProblem:
    HASH_MISMATCH = "hash_mismatch"  # the row's content or its stored hash was changed
    GAP = "gap"  # previous_hash is not its lane predecessor's hash: a row before it was removed (or changed hash)


@dataclass(frozen=True)
class AuditChainReport:
    checked: int
    # Each lane's last hash as far as it was checked, by lane.
    last_hashes: dict[int, str] = field(default_factory=dict)
    broken_id: int | None = None
    problem: str = ""
    expected: str = ""
    found: str = ""

    @property
    def is_intact(self) -> bool:
        return self.broken_id is None


def audit_chain_verify(*, chunk_size: int = 2000) -> AuditChainReport:
    """Walk the records once in id order, streaming, each lane's chain beside the others (ADR
    29), and stop at the first broken row.

    A changed row fails its own hash; a removed row shows as a gap at the next row of its lane.
    Removing a lane's newest rows leaves no gap behind: compare ``last_hashes`` with a copy kept
    elsewhere (the command prints them) to detect that.
    """
    tips: dict[int, str] = {}
    checked = 0
    for record in AuditRecord.objects.order_by("id").iterator(chunk_size=chunk_size):
        checked += 1
        previous = tips.get(record.lane, GENESIS_HASH)
        if record.previous_hash != previous:
            return AuditChainReport(
                checked=checked,
                last_hashes=tips,
                broken_id=record.pk,
                problem=ChainProblem.GAP,
                expected=previous,
                found=record.previous_hash,
            )
        recomputed = audit_record_hash_of(record)
        if record.record_hash != recomputed:
            return AuditChainReport(
                checked=checked,
                last_hashes=tips,
                broken_id=record.pk,
                problem=ChainProblem.HASH_MISMATCH,
                expected=recomputed,
                found=record.record_hash,
            )
        tips[record.lane] = record.record_hash
    return AuditChainReport(checked=checked, last_hashes=tips)
