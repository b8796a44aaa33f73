from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "govhall.supervision"
    label = "supervision"
    verbose_name = _("电子监察")

    def ready(self) -> None:
        from govhall.supervision import receivers  # noqa: F401  (connects the signal receivers)
