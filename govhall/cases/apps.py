from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _calendar_seed_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    # Reference data, not a domain effect: the years chinese-calendar knows are written after
    # every migrate (idempotent, administrator-entered days are kept), so a fresh database,
    # the test database and an upgraded package all count working days the same way.
    from govhall.cases.calendar import calendar_seed

    calendar_seed()


class CasesConfig(AppConfig):
    name = "govhall.cases"
    label = "cases"
    verbose_name = _("办件")

    def ready(self) -> None:
        post_migrate.connect(_calendar_seed_after_migrate, sender=self, dispatch_uid="govhall_calendar_seed")
