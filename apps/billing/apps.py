from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "apps.billing"
    verbose_name = _("Billing")

    def ready(self):
        from apps.billing import stripe_handlers  # noqa: F401  (connects the dj-stripe receivers)
        from apps.billing.providers.stripe import configure_stripe_module

        configure_stripe_module()

        from apps.accounts.hooks import account_closing
        from apps.billing.services import payment_methods_close_for_account

        account_closing.register(payment_methods_close_for_account)
