from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "govhall.metrics"
    label = "metrics"
    verbose_name = _("统计分析")

    def ready(self) -> None:
        from govhall.metrics import receivers  # noqa: F401  (connects the signal receivers)
