"""The second factor's devices and the single sign-on clients and tokens in the admin, guarded by
role like every other model there (govhall/accounts/admin_access.py).

The system administrator registers department systems (OIDC clients) and reads their tokens; the
security administrator, who manages staff credentials, sees and removes TOTP devices (a new one is
issued with ``manage.py staff_totp_device_create``: a secret is never typed into or shown by the
admin). Imported by govhall/accounts/admin.py, after django-otp's and django-oauth-toolkit's own
admin modules have registered theirs.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider import admin as oauth2_admin
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_administer_system, staff_may_grant_roles

Application = get_application_model()
AccessToken = get_access_token_model()
Grant = get_grant_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

for model in (TOTPDevice, Application, AccessToken, Grant, IDToken, RefreshToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    viewers = (staff_may_grant_roles,)
    editors = (staff_may_grant_roles,)
    list_display = ("user", "name", "confirmed", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__display_name")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = ("user", "name", "confirmed", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(RoleGuardedAdmin, oauth2_admin.ApplicationAdmin):
    editors = (staff_may_administer_system,)


@admin.register(AccessToken)
class AccessTokenAdmin(RoleGuardedAdmin, oauth2_admin.AccessTokenAdmin):
    viewers = (staff_may_administer_system,)


@admin.register(Grant)
class GrantAdmin(RoleGuardedAdmin, oauth2_admin.GrantAdmin):
    viewers = (staff_may_administer_system,)


@admin.register(IDToken)
class IDTokenAdmin(RoleGuardedAdmin, oauth2_admin.IDTokenAdmin):
    viewers = (staff_may_administer_system,)


@admin.register(RefreshToken)
class RefreshTokenAdmin(RoleGuardedAdmin, oauth2_admin.RefreshTokenAdmin):
    viewers = (staff_may_administer_system,)
