"""What other apps may attach to the subscription lifecycle (handlers registered in their AppConfig.ready())."""

from apps.core.hooks import Hook

# send(subscription=<Subscription>) while an upgrade is checked: a handler raises ApplicationError to
# refuse it (refunds: a refund of this billing cycle is in progress).
upgrade_check = Hook("plans.upgrade_check")
