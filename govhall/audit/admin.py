"""The audit record in the admin: read-only for everyone, superusers included."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Audit records are only ever added by the services; no one adds, edits or deletes them here."""

    list_display = ("created_at", "actor", "action", "object_type", "object_id", "summary")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("summary", "object_id", "actor__username")
    list_select_related = ("actor",)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        subtitle = _("审计记录只增不改，任何人都不能在此新增、修改或删除。")
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})
