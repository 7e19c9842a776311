from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from apps.core.hooks import audit_recorded
        from apps.notifications import handlers, services
        from apps.usage.hooks import extra_usage_engaged, quota_usage_settled
        from apps.wallet import jobs as wallet_jobs

        audit_recorded.register(handlers.on_audit_recorded)
        quota_usage_settled.register(services.quota_usage_settled_handler)
        extra_usage_engaged.register(handlers.on_extra_usage_engaged)
        wallet_jobs.low_balance_alert_due.register(handlers.on_low_balance)
        wallet_jobs.auto_topup_failed_notice_due.register(handlers.on_auto_topup_failed)
