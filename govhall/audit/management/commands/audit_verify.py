"""``manage.py audit_verify``: check the audit trail's hash chain; exit status 1 when broken."""

from typing import Any

from django.core.management.base import BaseCommand

from govhall.audit.selectors import ChainProblem, audit_chain_verify

PROBLEMS = {
    ChainProblem.HASH_MISMATCH: "hash mismatch: the record was changed after it was written",
    ChainProblem.GAP: "gap: previous_hash differs from its lane predecessor's hash (a record before it was removed)",
}


class Command(BaseCommand):
    help = (
        "Verify the audit records' hash chain, each lane in id order; exit status 1 at the first broken record. "
        "Prints each lane's last hash: keep them elsewhere to detect a lane's newest records removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        if report.is_intact:
            self.stdout.write(
                f"audit chain intact: {report.checked} records checked in {len(report.last_hashes)} lanes"
            )
            for lane, last_hash in sorted(report.last_hashes.items()):
                self.stdout.write(f"  lane {lane}: last hash {last_hash}")
            return
        self.stderr.write(
            f"audit chain broken at record {report.broken_id}: {PROBLEMS[report.problem]}\n"
            f"  expected {report.expected or '(empty)'}\n  found    {report.found or '(empty)'}\n"
            f"{report.checked} records checked"
        )
        raise SystemExit(1)
