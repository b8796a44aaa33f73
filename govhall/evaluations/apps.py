from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationsConfig(AppConfig):
    name = "govhall.evaluations"
    label = "evaluations"
    verbose_name = _("好差评")

    def ready(self) -> None:
        from govhall.evaluations import receivers  # noqa: F401  (connects the signal receivers)
