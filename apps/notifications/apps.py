from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from apps.core.hooks import audit_recorded
        from apps.notifications import handlers, services
        from apps.usage.hooks import (
            extra_usage_engaged,
            key_spend_settled,
            quota_usage_settled,
            spend_limit_refused,
        )
        from apps.wallet import jobs as wallet_jobs
        from apps.wallet.hooks import spend_cap_settled

        audit_recorded.register(handlers.on_audit_recorded)
        quota_usage_settled.register(services.quota_usage_settled_handler)
        extra_usage_engaged.register(handlers.on_extra_usage_engaged)
        key_spend_settled.register(services.key_spend_settled_handler)
        spend_cap_settled.register(services.spend_cap_settled_handler)
        spend_limit_refused.register(services.spend_limit_refused_handler)
        wallet_jobs.low_balance_alert_due.register(handlers.on_low_balance)
        wallet_jobs.auto_topup_failed_notice_due.register(handlers.on_auto_topup_failed)
