from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefundsConfig(AppConfig):
    name = "apps.refunds"
    verbose_name = _("Refunds")

    def ready(self):
        from apps.billing.hooks import provider_refund_changed
        from apps.core.side_effects import enqueue_safely
        from apps.plans.hooks import upgrade_check
        from apps.refunds import jobs, tasks
        from apps.refunds.services import refund_in_progress_refuse_upgrade, refund_part_update

        provider_refund_changed.register(refund_part_update)
        upgrade_check.register(refund_in_progress_refuse_upgrade)
        # Services ask for background work through jobs hooks; the tasks are enqueued here.
        jobs.refund_submit_due.register(
            lambda *, refund_id: enqueue_safely(tasks.refund_submit_task, refund_id)
        )
        jobs.refund_sync_due.register(lambda *, refund_id: enqueue_safely(tasks.refund_sync_task, refund_id))
