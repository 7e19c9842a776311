"""What other apps may attach to the wallet (handlers registered in their AppConfig.ready())."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.core.hooks import Hook

# Spend cap alerts fire at thresholds of at least this share of a cap (the same floor as the quota
# alerts: the notification preferences bound every threshold to 50..100), so settles below it send nothing.
SPEND_ALERT_MIN_PERCENT = 50


@dataclass(frozen=True)
class CapSpend:
    """One account spend cap's period as a settle left it: USD spent before and after, and the cap."""

    period: str  # day, week or month
    period_start: datetime
    resets_at: datetime | None
    spent_before: Decimal
    spent_after: Decimal
    cap: Decimal


# send(account_id=..., caps=[CapSpend, ...]) inside wallet_settle's transaction (the wallet row locked),
# only for caps a settle moved into the alert range (at least SPEND_ALERT_MIN_PERCENT of the cap, and
# below the cap before). Notifications decide which of the account's thresholds were crossed.
spend_cap_settled = Hook("wallet.spend_cap_settled")


def spend_cap_check(*, account_id: int, caps: list[CapSpend]) -> None:
    """Send `spend_cap_settled` only for caps in the alert range (pure arithmetic otherwise)."""
    due = [
        cap
        for cap in caps
        if cap.cap > 0
        and cap.spent_after > cap.spent_before
        and cap.spent_before < cap.cap
        and cap.spent_after * 100 >= cap.cap * SPEND_ALERT_MIN_PERCENT
    ]
    if due:
        spend_cap_settled.send(account_id=account_id, caps=due)
