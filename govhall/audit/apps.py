from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "govhall.audit"
    label = "audit"
    verbose_name = _("审计")

    def ready(self) -> None:
        # Process-wide, not the audit app's own: the first of govhall's apps to be ready.
        from govhall.db_loaders import timestamptz_loaded_in_c

        timestamptz_loaded_in_c()
