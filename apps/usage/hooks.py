"""What other apps may attach to metering (handlers registered in their AppConfig.ready())."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.core.hooks import Hook

# Quota alerts fire at thresholds of at least this share of a window (the preferences page bounds the
# thresholds a customer may choose to QUOTA_ALERT_MIN_PERCENT..100), so settles below it send nothing.
QUOTA_ALERT_MIN_PERCENT = 50


@dataclass(frozen=True)
class WindowUsage:
    """One quota window as a settle left it: the Flows used before and after, and the plan's maximum."""

    kind: str
    started_at: datetime
    resets_at: datetime | None
    used_before: Decimal
    used_after: Decimal
    maximum: Decimal


# send(account_id=..., windows=[WindowUsage, ...]) after a settle moved a window's usage into the alert
# range (at least QUOTA_ALERT_MIN_PERCENT of its maximum, and it was below the maximum before).
# Full path: inside the settle's transaction, with the windows locked. Fast path: right after the
# settle's statement committed. Notifications decide which of the account's thresholds were crossed.
quota_usage_settled = Hook("usage.quota_usage_settled")


def quota_usage_check(*, account_id: int, windows: list[WindowUsage]) -> None:
    """Send `quota_usage_settled` only for windows in the alert range (pure arithmetic otherwise)."""
    due = [
        window
        for window in windows
        if window.maximum > 0
        and window.used_after > window.used_before
        and window.used_before < window.maximum
        and window.used_after * 100 >= window.maximum * QUOTA_ALERT_MIN_PERCENT
    ]
    if due:
        quota_usage_settled.send(account_id=account_id, windows=due)


# send(account_id=..., window=<the blocking window with the latest reset: kind, started_at, resets_at>)
# inside authorize's transaction, when a request went to Extra Usage because the subscription's
# windows had no room (notifications: "Extra Usage took over", once per window instance).
extra_usage_engaged = Hook("usage.extra_usage_engaged")


# --- key spend limits and account spend caps (issue #22) -------------------------------------------------


@dataclass(frozen=True)
class KeySpendUsage:
    """A key's spend counter as a settle left it (the key's unit: Flows or USD) and its limit."""

    key_id: int
    key_name: str
    unit: str  # "Flows" or "USD"
    period: str  # day, week, month or total
    period_start: datetime
    resets_at: datetime | None
    used_before: Decimal
    used_after: Decimal
    limit: Decimal


# send(account_id=..., usage=KeySpendUsage) inside the settle's transaction (the key's spend row locked),
# only when the settle moved the counter into the alert range (at least QUOTA_ALERT_MIN_PERCENT of the
# limit, and below the limit before). Notifications decide which of the account's thresholds were crossed.
key_spend_settled = Hook("usage.key_spend_settled")


def key_spend_check(*, account_id: int, usage: KeySpendUsage) -> None:
    """Send `key_spend_settled` only when the counter entered the alert range (pure arithmetic otherwise)."""
    if (
        usage.limit > 0
        and usage.used_after > usage.used_before
        and usage.used_before < usage.limit
        and usage.used_after * 100 >= usage.limit * QUOTA_ALERT_MIN_PERCENT
    ):
        key_spend_settled.send(account_id=account_id, usage=usage)


# send(account_id=..., key_id=..., key_name=..., limit="key" | "cap", period=..., period_start=...,
# resets_at=...) after authorize refused a request with key_limit_exceeded ("key") or spend_cap_reached
# ("cap") and rolled back: nothing was changed. Notifications tell the customer once per key/cap period.
spend_limit_refused = Hook("usage.spend_limit_refused")
