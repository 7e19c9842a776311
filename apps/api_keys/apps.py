from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiKeysConfig(AppConfig):
    name = "apps.api_keys"
    verbose_name = _("API keys")

    def ready(self):
        from apps.accounts.hooks import account_closing
        from apps.api_keys.services import api_keys_close_for_account

        account_closing.register(api_keys_close_for_account)
