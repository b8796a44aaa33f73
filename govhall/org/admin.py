"""Admin of regions (read-only reference data), departments and halls with their windows."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.org.models import Department, Hall, Region, Window


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Regions come from the bundled GB/T 2260 data (``regions_load``); nobody edits them by hand."""

    list_display = ("code", "name", "full_name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name", "full_name")
    list_select_related = ("parent",)
    subtitle = _("行政区划按 GB/T 2260 数据导入，此处只读。")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        return super().changelist_view(request, {"subtitle": self.subtitle, **(extra_context or {})})


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region", "kind", "phone")
    list_filter = ("kind", "region__level")
    search_fields = ("code", "name", "short_name", "region__name")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    autocomplete_fields = ("departments",)


@admin.register(Hall)
class HallAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "phone")
    search_fields = ("name", "address", "region__name")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)
    inlines = (WindowInline,)
