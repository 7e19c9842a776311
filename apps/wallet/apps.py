from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "apps.wallet"
    verbose_name = _("Pay-as-you-go wallet")

    def ready(self):
        from apps.accounts.hooks import account_closing
        from apps.billing.hooks import provider_payment_disputed
        from apps.billing.models import PaymentPurpose
        from apps.billing.services import register_payment_handlers
        from apps.core.side_effects import enqueue_safely
        from apps.wallet import dispute_handlers, jobs, services, tasks

        provider_payment_disputed.register(dispute_handlers.on_payment_disputed)
        account_closing.register(services.wallet_close_for_account)

        register_payment_handlers(
            PaymentPurpose.TOPUP, on_success=services.wallet_topup_fulfil, on_failure=None
        )
        register_payment_handlers(
            PaymentPurpose.AUTO_TOPUP,
            on_success=services.wallet_auto_topup_fulfil,
            on_failure=services.wallet_auto_topup_failed,
        )
        # Services ask for background work through jobs hooks; the tasks are enqueued here.
        jobs.auto_topup_charge_due.register(
            lambda *, wallet_id, seq: enqueue_safely(tasks.wallet_auto_topup_charge, wallet_id, seq)
        )
