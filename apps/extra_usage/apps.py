from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtraUsageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.extra_usage"
    verbose_name = _("Extra Usage")

    def ready(self):
        from apps.api_keys.hooks import api_key_unusable
        from apps.extra_usage.services import extra_usage_on_key_unusable

        api_key_unusable.register(extra_usage_on_key_unusable)
