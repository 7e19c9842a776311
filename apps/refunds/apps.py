from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefundsConfig(AppConfig):
    name = "apps.refunds"
    verbose_name = _("Refunds")
