from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Organizations and accounts")

    def ready(self) -> None:
        # Load the Celery app with Django, so shared tasks bind to it in web processes too.
        import smms.celery  # noqa: F401
