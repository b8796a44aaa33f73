"""People and their roles in the admin, the security administrator's part of it.

The security administrator creates staff accounts and sets their roles on the user's page; the
roles are saved through ``staff_user_upsert``, so every grant and withdrawal leaves an audit
record, and nobody sets their own roles. The list of assignments on its own is read-only.
Django's superuser flag, groups and model permissions are not offered: access in the admin is by
role (govhall/accounts/admin_access.py). The security administrator also issues the one-time
activation codes with which staff enrol their TOTP app at the login (an action on the user list).
"""

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.admin import DBTaskResultAdmin as TasksDBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.authentication import client_address
from govhall.accounts.guards import (
    staff_may_administer_system,
    staff_may_grant_roles,
    staff_may_grant_roles_to,
    staff_roles_are_separated,
)
from govhall.accounts.models import StaffAssignment, User
from govhall.accounts.services import StaffRolesRefused, staff_user_upsert
from govhall.accounts.totp import ActivationCodeRefused, totp_activation_code_issue
from govhall.audit.services import audit_record_add


class StaffAssignmentFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        roles = {
            form.cleaned_data["role"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("role")
        }
        if not staff_roles_are_separated(roles=roles):
            raise ValidationError(_("系统管理员、安全管理员和安全审计员三个角色不能由同一人兼任。"))


class StaffAssignmentInline(RoleGuardedAdmin, admin.TabularInline):
    model = StaffAssignment
    formset = StaffAssignmentFormSet
    extra = 1
    autocomplete_fields = ("department",)
    viewers = (staff_may_grant_roles,)

    def _may_grant_to(self, request: HttpRequest, obj: Any) -> bool:
        # ``obj`` is the user whose page this is: nobody sets their own roles.
        return staff_may_grant_roles_to(user=request.user, target=obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_grant_to(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_grant_to(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_grant_to(request, obj)


@admin.register(User)
class UserAdmin(RoleGuardedAdmin, DjangoUserAdmin):
    viewers = (staff_may_grant_roles,)
    list_display = ("username", "display_name", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active", "assignments__role")
    search_fields = ("username", "display_name", "email")
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("姓名"), {"fields": ("display_name",)}),
        (_("个人信息"), {"fields": ("first_name", "last_name", "email")}),
        (_("状态"), {"fields": ("is_active", "is_staff")}),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "display_name", "usable_password", "password1", "password2")},
        ),
    )
    inlines = (StaffAssignmentInline,)
    actions = ("issue_totp_activation_codes",)

    def has_issue_totp_activation_code_permission(self, request: HttpRequest) -> bool:
        return staff_may_grant_roles(user=request.user)

    @admin.action(description=_("签发动态口令激活码"), permissions=["issue_totp_activation_code"])
    def issue_totp_activation_codes(self, request: HttpRequest, queryset: QuerySet[User]) -> TemplateResponse | None:
        """Issue each selected staff member a one-time activation code for enrolling their TOTP
        app, and show the codes once on the page this returns (never cached, never stored in
        clear). The service refuses anyone the administrator may not act for, themselves included."""
        actor = cast(User, request.user)
        issued = []
        for user in queryset.order_by("username"):
            try:
                activation = totp_activation_code_issue(user=user, actor=actor, address=client_address(request))
            except ActivationCodeRefused as refused:
                self.message_user(request, f"{user.username}: {refused.message}", level=messages.WARNING)
                continue
            has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            issued.append(
                {"user": user, "code": activation.code, "expires_at": activation.expires_at, "has_device": has_device}
            )
        if not issued:
            return None  # back to the list, which shows why
        context = {
            **self.admin_site.each_context(request),
            "title": _("动态口令激活码"),
            "opts": self.model._meta,
            "issued": issued,
        }
        response = TemplateResponse(request, "accounts/activation_codes_issued.html", context)
        add_never_cache_headers(response)
        return response

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return staff_may_grant_roles(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Their own page is read-only to a security administrator (no self-grant); their own
        # password is changed through the site's "change password" page.
        return staff_may_grant_roles_to(user=request.user, target=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are disabled, never deleted: the audit trail refers to them.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = cast(User, request.user)
        if change:
            super().save_model(request, obj, form, change)
            if form.changed_data:
                audit_record_add(
                    actor=actor,
                    action="staff_user_change",
                    object_type="user",
                    object_id=obj.pk,
                    summary=f"{obj.username}: {', '.join(form.changed_data)}",
                    data={"fields": list(form.changed_data)},
                )
            return
        # A new account is created by the service, which records it.
        saved = staff_user_upsert(
            username=obj.username,
            display_name=obj.display_name,
            password=form.cleaned_data.get("password1") or None,
            assignments=[],
            actor=actor,
        )
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

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
        try:
            staff_user_upsert(
                username=user.username,
                display_name=user.display_name,
                password=None,
                assignments=kept,
                is_superuser=user.is_superuser,
                actor=cast(User, request.user),
            )
        except StaffRolesRefused as refused:
            # The permission checks above refuse this before it gets here; this is the last line.
            raise PermissionError(refused.message) from refused


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    """An overview of who holds which role where; roles are edited on the user's page."""

    viewers = (staff_may_grant_roles,)
    editors = ()
    list_display = ("user", "role", "department")
    list_filter = ("role", "department__region__level")
    search_fields = ("user__username", "user__display_name", "department__name")
    list_select_related = ("user", "department")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        subtitle = _("岗位在用户页面维护，保存时记入审计日志；此处只读。")
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})


# Other apps' models on the site get the same role rule: groups are not used (roles are), and the
# task results are the system administrator's to read.
admin.site.unregister(Group)
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class DBTaskResultAdmin(RoleGuardedAdmin, TasksDBTaskResultAdmin):
    viewers = (staff_may_administer_system,)
    editors = ()


# TOTP devices and the single sign-on clients and tokens, under the same role rule.
from govhall.accounts import admin_sign_on  # noqa: E402, F401
