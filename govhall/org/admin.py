"""Admin of regions (read-only reference data), departments and halls with their windows.

The system administrator maintains them; the security administrator may look departments up
(to pick one when granting a role) but not change them.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_administer_system, staff_may_grant_roles
from govhall.org.models import Department, Hall, Region, Window
from govhall.org.selectors import department_referrers_counted


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

    def get_deleted_objects(
        self, objs: Sequence[Any] | QuerySet[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[Any, Any], set[Any], list[Any]]:
        """A department that rows refer to is not deleted (their foreign keys protect it), and the
        page that says so counts those rows instead of listing them. Django's collector reads
        every protected row to name it: the steps and timeline events of a busy department, in
        the millions at a province's scale, into the web worker (docs/performance.md, the
        thirty-fifth session). Each relation is counted up to ``REFERENCES_COUNTED`` through its
        index; only a department nothing refers to goes on to Django's own confirmation."""
        held = department_references(objs)
        if held:
            return [], {}, set(), held
        return super().get_deleted_objects(objs, request)


REFERENCES_COUNTED = 1000


def department_references(departments: Sequence[Any] | QuerySet[Any]) -> list[str]:
    """What refers to these departments through a protecting foreign key, one line per relation:
    its rows' name and how many there are (past ``REFERENCES_COUNTED``, "≥" that many)."""
    counted = department_referrers_counted(
        department_ids=[department.pk for department in departments], bound=REFERENCES_COUNTED
    )
    return [
        f"{model._meta.verbose_name_plural} ({field.verbose_name}): "
        + (f"≥ {REFERENCES_COUNTED:,}" if rows >= REFERENCES_COUNTED else f"{rows:,}")
        for model, field, rows in counted
    ]


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
