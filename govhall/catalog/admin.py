"""The catalogue in the admin.

Entries, implementations, changes and versions are read-only here: every change to the
catalogue is drafted on the workbench and published by a reviewer's approval
(``catalogue_change_approve``), which keeps versions, search and the audit record in step.
Themes and search synonyms are reference lists and are edited here, by the system administrator.
Life-event bundles (一件事) are edited here by a catalogue administrator at province level (a
bundle serves the whole province); everyone else who may open the admin reads them.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_act_at_province_level, staff_may_administer_system
from govhall.accounts.models import Role
from govhall.catalog.models import (
    Bundle,
    BundleItem,
    CatalogueChange,
    CatalogueEntry,
    CatalogueEntryVersion,
    Implementation,
    ImplementationVersion,
    Material,
    ProcessStep,
    SearchSynonym,
    Theme,
)
from govhall.catalog.search import search_synonym_upsert

WORKBENCH_ONLY = _("事项的新增、变更、拆分、合并、暂停和取消须在工作台提出，经审核通过后发布；此处只读。")


class _ReadOnly(RoleGuardedAdmin):
    """No add, change or delete here, for anyone; the system administrator sees the lists and pages."""

    actions: Any = None
    viewers = (staff_may_administer_system,)
    editors = ()


class _WorkbenchOnlyAdmin(_ReadOnly, admin.ModelAdmin):
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        return super().changelist_view(request, {"subtitle": WORKBENCH_ONLY, **(extra_context or {})})

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        return super().changeform_view(
            request, object_id, form_url, {"subtitle": WORKBENCH_ONLY, **(extra_context or {})}
        )


@admin.register(Theme)
class ThemeAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    editors = (staff_may_administer_system,)
    list_display = ("code", "name", "audience", "order")
    list_filter = ("audience",)
    search_fields = ("code", "name", "name_en")


@admin.register(SearchSynonym)
class SearchSynonymAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    """Saved through ``search_synonym_upsert``, which stores the term folded as queries are."""

    editors = (staff_may_administer_system,)

    list_display = ("term", "expansion")
    search_fields = ("term", "expansion")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The term is the synonym's key: another term is another synonym (add it, delete this one).
        return ("term",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = search_synonym_upsert(term=obj.term, expansion=obj.expansion)
        obj.pk, obj.term = saved.pk, saved.term


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(_WorkbenchOnlyAdmin):
    list_display = ("basic_code", "name", "kind", "state", "version", "published_at")
    list_filter = ("state", "kind")
    search_fields = ("basic_code", "name")


class ProcessStepInline(_ReadOnly, admin.TabularInline):
    model = ProcessStep
    fields = ("order", "name", "description", "duration_days")


class MaterialInline(_ReadOnly, admin.TabularInline):
    model = Material
    fields = ("order", "name", "requirement", "condition", "form", "copies", "source")


@admin.register(Implementation)
class ImplementationAdmin(_WorkbenchOnlyAdmin):
    list_display = ("implementation_code", "entry", "region", "department", "state", "version")
    list_filter = ("state", "region__level")
    search_fields = ("implementation_code", "entry__name", "entry__basic_code")
    list_select_related = ("entry", "region", "department")
    inlines = (ProcessStepInline, MaterialInline)


@admin.register(CatalogueChange)
class CatalogueChangeAdmin(_WorkbenchOnlyAdmin):
    list_display = ("id", "action", "target", "state", "region", "drafted_by", "drafted_at", "reviewed_by")
    list_filter = ("state", "action", "target")
    search_fields = ("reason", "entry__name", "implementation__implementation_code")
    list_select_related = ("region", "drafted_by", "reviewed_by")


@admin.register(CatalogueEntryVersion)
class CatalogueEntryVersionAdmin(_WorkbenchOnlyAdmin):
    list_display = ("entry", "number", "published_at", "change")
    search_fields = ("entry__basic_code", "entry__name")
    list_select_related = ("entry", "change")


@admin.register(ImplementationVersion)
class ImplementationVersionAdmin(_WorkbenchOnlyAdmin):
    list_display = ("implementation", "number", "published_at", "change")
    search_fields = ("implementation__implementation_code",)
    list_select_related = ("implementation", "change")


def staff_may_edit_bundles(*, user: Any) -> bool:
    """A catalogue administrator at province level: a bundle serves the whole province."""
    return staff_may_act_at_province_level(user=user, role=Role.CATALOGUE_ADMINISTRATOR)


class BundleItemInline(RoleGuardedAdmin, admin.TabularInline):
    model = BundleItem
    viewers = (staff_may_administer_system,)
    editors = (staff_may_edit_bundles,)
    fields = ("order", "entry", "department_kind")
    extra = 0


@admin.register(Bundle)
class BundleAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    viewers = (staff_may_administer_system,)
    editors = (staff_may_edit_bundles,)
    list_display = ("code", "name", "audience", "theme", "state")
    list_filter = ("state", "audience")
    search_fields = ("code", "name")
    list_select_related = ("theme",)
    inlines = (BundleItemInline,)
