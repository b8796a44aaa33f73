"""The audit record in the admin: the auditor reads it; nobody adds, changes or deletes it here,
superusers and the other two separated administrators included."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_read_audit
from govhall.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    """Audit records are only ever added by the services; no one adds, edits or deletes them here."""

    viewers = (staff_may_read_audit,)
    editors = ()  # nobody: the trail is append-only (and the database refuses UPDATE and DELETE)

    list_display = ("created_at", "actor", "acting_for", "action", "outcome", "object_type", "object_id", "summary")
    list_filter = ("action", "outcome", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("summary", "object_id", "actor__username", "acting_for", "address")
    list_select_related = ("actor",)
    actions = None

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        subtitle = _("审计记录只增不改，任何人都不能在此新增、修改或删除。")
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})
