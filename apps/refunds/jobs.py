"""Background work refund services ask for, without importing the task module (tasks import services).

A service sends one of these hooks after its transaction commits; RefundsConfig.ready() registers the
handlers that enqueue the Celery tasks in `apps.refunds.tasks`.
"""

from apps.core.hooks import Hook

# send(refund_id=...): a refund was requested -> ask the provider to refund each part.
refund_submit_due = Hook("refunds.refund_submit_due")
# send(refund_id=...): parts are still pending at the provider -> re-read them (the sandbox settles here).
refund_sync_due = Hook("refunds.refund_sync_due")
