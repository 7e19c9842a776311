"""Reads of the metering state: quota windows as they stand now (lazily rolled, never written)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from apps.core.money import flows_to_usd, round_flows, round_fraction
from apps.plans.models import Subscription
from apps.plans.selectors import effective_usd_per_flow
from apps.usage.models import WINDOW_KINDS, QuotaWindow
from apps.usage.windows import monthly_period, window_max, window_state

ZERO = Decimal("0")


@dataclass(frozen=True)
class QuotaWindowView:
    kind: str
    max_flows: Decimal
    used_flows: Decimal
    reserved_flows: Decimal
    remaining_flows: Decimal  # max − used, never below 0
    usage_percentage: Decimal  # used / max, 0–1, 4 places
    started_at: datetime | None
    resets_at: datetime | None  # None while the window is idle
    used_value_usd: Decimal  # at the account's effective rate, to the cent
    max_value_usd: Decimal


def quota_windows_for_account(*, account, now: datetime | None = None) -> dict[str, QuotaWindowView]:
    """The account's three windows (five_hour, weekly, monthly) at `now`, maxima from the current plan."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_related("plan").get(account=account)
    rows = {window.kind: window for window in QuotaWindow.objects.filter(account=account)}
    period = monthly_period(subscription=subscription, now=now)
    rate = effective_usd_per_flow(account=account)
    views = {}
    for kind in WINDOW_KINDS:
        state = window_state(kind=kind, window=rows.get(kind), period=period, now=now)
        maximum = window_max(plan=subscription.plan, kind=kind)
        used = round_flows(state.used_flows)
        if maximum > 0:
            percentage = round_fraction(min(used / maximum, Decimal(1)))
        else:
            percentage = round_fraction(Decimal(1) if used > 0 else ZERO)
        views[kind] = QuotaWindowView(
            kind=kind,
            max_flows=round_flows(maximum),
            used_flows=used,
            reserved_flows=round_flows(state.reserved_flows),
            remaining_flows=round_flows(max(ZERO, maximum - used)),
            usage_percentage=percentage,
            started_at=state.started_at,
            resets_at=state.resets_at,
            used_value_usd=flows_to_usd(used, rate),
            max_value_usd=flows_to_usd(maximum, rate),
        )
    return views
