from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "apps.plans"
    verbose_name = _("Plans and catalog")

    def ready(self):
        from apps.accounts.hooks import account_closing, account_created
        from apps.plans import payment_handlers, provider_handlers
        from apps.plans.services import subscription_close_for_account, subscription_create_free

        payment_handlers.register()
        provider_handlers.register()
        account_created.register(subscription_create_free)
        account_closing.register(subscription_close_for_account)
