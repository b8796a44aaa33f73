"""People and their roles in the admin.

Roles are set on the user's page and saved through ``staff_user_upsert``, so every change of
roles leaves an audit record; the list of assignments on its own is read-only.
"""

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.models import StaffAssignment, User
from govhall.accounts.services import staff_user_upsert


class StaffAssignmentInline(admin.TabularInline):
    model = StaffAssignment
    extra = 1
    autocomplete_fields = ("department",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "is_staff", "is_superuser", "is_active", "last_login")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ())[:1],
        (_("姓名"), {"fields": ("display_name",)}),
        *(DjangoUserAdmin.fieldsets or ())[1:],
    )
    inlines = (StaffAssignmentInline,)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not StaffAssignment:
            super().save_formset(request, form, formset, change)
            return
        # The admin's change message reads these; the audit record is where role changes are told.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not formset.has_changed():
            return
        user = form.instance
        kept = [
            (inline.cleaned_data["department"], inline.cleaned_data["role"])
            for inline in formset.forms
            if inline.cleaned_data
            and not inline.cleaned_data.get("DELETE")
            and inline.cleaned_data.get("department")
            and inline.cleaned_data.get("role")
        ]
        staff_user_upsert(
            username=user.username,
            display_name=user.display_name,
            password=None,
            assignments=kept,
            is_superuser=user.is_superuser,
            actor=cast(User, request.user),
        )


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(admin.ModelAdmin):
    """An overview of who holds which role where; roles are edited on the user's page."""

    list_display = ("user", "role", "department")
    list_filter = ("role", "department__region__level")
    search_fields = ("user__username", "user__display_name", "department__name")
    list_select_related = ("user", "department")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        subtitle = _("岗位在用户页面维护，保存时记入审计日志；此处只读。")
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})
