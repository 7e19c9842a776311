from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "apps.billing"
    verbose_name = _("Billing")

    def ready(self):
        from apps.billing import stripe_handlers  # noqa: F401  (connects the dj-stripe receivers)
        from apps.billing.providers.stripe import configure_stripe_module

        configure_stripe_module()
