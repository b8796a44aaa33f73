"""Writing audit records. Records are only ever added: there is no update or delete service,
the admin shows them read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE."""

from typing import Any

from govhall.audit.models import AuditRecord


def audit_record_add(
    *, actor: Any, action: str, object_type: str, object_id: str | int, summary: str, data: dict | None = None
) -> AuditRecord:
    """Add one audit record; call it inside the transaction of the change it records."""
    return AuditRecord.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:255],
        data=data or {},
    )
