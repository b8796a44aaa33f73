"""Admin of regions (read-only reference data), departments and halls with their windows.

The system administrator maintains them; the security administrator may look departments up
(to pick one when granting a role) but not change them.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_administer_system, staff_may_grant_roles
from govhall.org.models import Department, Hall, Region, Window


@admin.register(Region)
class RegionAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    """Regions come from the bundled GB/T 2260 data (``regions_load``); nobody edits them by hand."""

    viewers = (staff_may_administer_system,)

    list_display = ("code", "name", "full_name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name", "full_name")
    list_select_related = ("parent",)
    subtitle = _("行政区划按 GB/T 2260 数据导入，此处只读。")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        return super().changelist_view(request, {"subtitle": self.subtitle, **(extra_context or {})})


@admin.register(Department)
class DepartmentAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    editors = (staff_may_administer_system,)
    # The security administrator picks departments when granting roles (the autocomplete asks this).
    viewers = (staff_may_grant_roles,)
    list_display = ("code", "name", "region", "kind", "phone")
    list_filter = ("kind", "region__level")
    search_fields = ("code", "name", "short_name", "region__name")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)


class WindowInline(RoleGuardedAdmin, admin.TabularInline):
    editors = (staff_may_administer_system,)
    model = Window
    extra = 0
    autocomplete_fields = ("departments",)


@admin.register(Hall)
class HallAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    editors = (staff_may_administer_system,)
    list_display = ("name", "region", "phone")
    search_fields = ("name", "address", "region__name")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)
    inlines = (WindowInline,)
