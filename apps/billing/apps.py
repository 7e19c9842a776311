from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "apps.billing"
    verbose_name = _("Billing")

    def ready(self):
        from apps.billing import stripe_handlers  # noqa: F401  (connects the dj-stripe receivers)
        from apps.billing.providers.stripe import configure_stripe_module

        configure_stripe_module()

        from django.db import transaction

        from apps.accounts.hooks import account_closing, invoice_details_changed
        from apps.billing import tasks
        from apps.billing.services import payment_methods_close_for_account
        from apps.core.side_effects import enqueue_safely

        account_closing.register(payment_methods_close_for_account)

        def sync_customer_after_commit(*, account):
            account_id = account.pk
            transaction.on_commit(lambda: enqueue_safely(tasks.customer_sync_invoice_details, account_id))

        invoice_details_changed.register(sync_customer_after_commit)
