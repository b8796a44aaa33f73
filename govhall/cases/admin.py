"""Admin of the cases app: the working-day calendar.

The system administrator enters the public holidays and 调休 days of years chinese-calendar does
not know (or corrects a day); every save goes through ``calendar_day_set``, which records it in
the audit trail and marks the day as the administrator's so seeding never overwrites it.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from govhall.accounts.admin_access import RoleGuardedAdmin
from govhall.accounts.guards import staff_may_administer_system
from govhall.cases.calendar import calendar_day_check, calendar_day_set
from govhall.cases.models import CalendarDay

WEEKDAY_NAMES = (_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日"))


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ("date", "working", "kind", "name")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if {"working", "kind", "name"} <= cleaned.keys():
            # The service's own rule, asked here so the page shows it beside the fields.
            try:
                calendar_day_check(working=cleaned["working"], kind=cleaned["kind"], name=cleaned["name"])
            except forms.ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(CalendarDay)
class CalendarDayAdmin(RoleGuardedAdmin, admin.ModelAdmin):
    editors = (staff_may_administer_system,)
    form = CalendarDayForm
    list_display = ("date", "weekday", "working", "kind", "name", "source", "updated_by", "updated_at")
    list_filter = ("kind", "source", "working")
    date_hierarchy = "date"
    search_fields = ("name",)
    list_select_related = ("updated_by",)
    ordering = ("-date",)

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAY_NAMES[obj.date.weekday()])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The date is the row's identity: a wrong date is corrected by setting both days.
        shown = ("source", "updated_by", "updated_at")
        return ("date", *shown) if obj is not None else shown

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A deleted day would silently fall back to Monday-to-Friday (or be re-seeded) without an
        # audit record; a day is corrected instead.
        return False

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        saved = calendar_day_set(actor=request.user, day=obj.date, working=obj.working, kind=obj.kind, name=obj.name)
        obj.source, obj.updated_by, obj.updated_at = saved.source, saved.updated_by, saved.updated_at
        obj._state.adding = False
        obj._state.db = saved._state.db
