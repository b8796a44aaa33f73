from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "govhall.accounts"
    label = "accounts"
    verbose_name = _("用户与权限")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from govhall.accounts.authentication import session_register_on_login

        # Every login path (citizen pages, workbench, admin, test clients) goes through
        # django.contrib.auth.login; its signal is the one place all of them can be recorded.
        user_logged_in.connect(session_register_on_login, dispatch_uid="govhall_session_register")
