from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmBridgeConfig(AppConfig):
    name = "crm_bridge"
    verbose_name = _("CRM bridge")
