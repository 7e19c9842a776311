from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtraUsageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.extra_usage"
    verbose_name = _("Extra Usage")
