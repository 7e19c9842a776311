from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "apps.wallet"
    verbose_name = _("Pay-as-you-go wallet")

    def ready(self):
        from apps.billing.models import PaymentPurpose
        from apps.billing.services import register_payment_handlers
        from apps.wallet import services

        register_payment_handlers(
            PaymentPurpose.TOPUP, on_success=services.wallet_topup_fulfil, on_failure=None
        )
        register_payment_handlers(
            PaymentPurpose.AUTO_TOPUP,
            on_success=services.wallet_auto_topup_fulfil,
            on_failure=services.wallet_auto_topup_failed,
        )
