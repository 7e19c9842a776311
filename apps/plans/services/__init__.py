"""Subscription lifecycle (SPEC §4): subscribe, upgrade with proration, scheduled downgrade, renewal, grace.

Rules shared by every service here:
- the subscription row is locked (`select_for_update`) for every change, and each state transition
  writes exactly one `subscription.*` AuditEvent in the same transaction;
- no provider call happens while the row is locked: money moves through `Payment` rows with
  deterministic idempotency keys, and the payment handlers (`apps.plans.payment_handlers`, run by
  `payment_succeed` / `payment_fail` exactly once) apply the paid-for change.
"""

from apps.plans.services.changes import (
    UpgradePreview,
    subscription_schedule_change,
    subscription_schedule_check,
    subscription_start_checkout,
    subscription_undo_scheduled_change,
    subscription_upgrade,
    subscription_upgrade_check,
    subscription_upgrade_preview,
)
from apps.plans.services.common import subscription_audit, subscription_create_free, subscription_lock
from apps.plans.services.flow_rates import FLOW_RATE_NOT_POSITIVE, flow_rate_create
from apps.plans.services.renewals import (
    subscription_close_for_account,
    subscription_drop_to_free,
    subscription_expire_grace,
    subscription_grace_deadline,
    subscription_renew_due,
    subscription_sync_from_provider,
)

__all__ = [
    "FLOW_RATE_NOT_POSITIVE",
    "flow_rate_create",
    "UpgradePreview",
    "subscription_audit",
    "subscription_close_for_account",
    "subscription_drop_to_free",
    "subscription_create_free",
    "subscription_expire_grace",
    "subscription_grace_deadline",
    "subscription_lock",
    "subscription_renew_due",
    "subscription_schedule_change",
    "subscription_schedule_check",
    "subscription_start_checkout",
    "subscription_sync_from_provider",
    "subscription_undo_scheduled_change",
    "subscription_upgrade",
    "subscription_upgrade_check",
    "subscription_upgrade_preview",
]
