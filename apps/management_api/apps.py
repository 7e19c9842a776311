from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ManagementApiConfig(AppConfig):
    name = "apps.management_api"
    verbose_name = _("Management API")
