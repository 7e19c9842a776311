"""Background work wallet services ask for, without importing the task module (tasks import services).

A service sends one of these hooks after its transaction commits (`transaction.on_commit`); WalletConfig.ready()
registers the handlers that enqueue the Celery tasks in `apps.wallet.tasks`, NotificationsConfig.ready() the
ones that tell the customer (apps.notifications).
"""

from apps.core.hooks import Hook

# send(wallet_id=...): the balance fell below the alert threshold -> notify the customer (notifications).
low_balance_alert_due = Hook("wallet.low_balance_alert_due")
# send(wallet_id=..., seq=...): the balance crossed the auto top-up threshold -> charge the saved card.
auto_topup_charge_due = Hook("wallet.auto_topup_charge_due")
# send(wallet_id=..., reason=...): auto top-up was turned off after a failed charge -> tell the customer (notifications).
auto_topup_failed_notice_due = Hook("wallet.auto_topup_failed_notice_due")
