"""Admin of licences: the licence catalogue (证照目录) is kept by the system administrator; seals,
licences and look-up clients are shown read-only (they change through their services and
commands, which keep the audit trail)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_administer_system
from govhall.audit.services import audit_record_add
from govhall.licences.models import Licence, LicenceEvent, LicenceLookupClient, LicenceType, Seal


@admin.register(LicenceType)
class LicenceTypeAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    editors = (staff_may_administer_system,)
    list_display = ("code", "name", "holder_kind", "validity_months", "active")
    list_filter = ("holder_kind", "active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a type with licences is deactivated, never deleted

    def save_model(self, request: HttpRequest, obj: LicenceType, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record_add(
            actor=request.user,
            action="licence_type_change" if change else "licence_type_add",
            object_type="licence_type",
            object_id=obj.code,
            summary=obj.name,
            data={"fields": list(form.changed_data)},
        )


class ReadOnlyAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    viewers = (staff_may_administer_system,)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Seal)
class SealAdmin(ReadOnlyAdmin):
    list_display = ("name", "department", "algorithm", "certificate_serial", "not_after", "active")
    list_filter = ("algorithm", "active")
    exclude = ("key_reference",)


class LicenceEventInline(RoleGuardedAdmin, admin.TabularInline):
    model = LicenceEvent
    viewers = (staff_may_administer_system,)
    extra = 0
    can_delete = False
    fields = ("at", "action", "version", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    list_display = ("number", "licence_type", "holder_name", "issuer", "status", "valid_until")
    list_filter = ("status", "licence_type")
    search_fields = ("number", "identifier")
    exclude = ("person",)
    inlines = (LicenceEventInline,)


@admin.register(LicenceLookupClient)
class LicenceLookupClientAdmin(ReadOnlyAdmin):
    list_display = ("application", "department", "active", "created_at")
