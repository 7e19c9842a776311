"""Reads of the metering state: quota windows as they stand now (lazily rolled, never written)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from apps.api_keys.models import ApiKey
from apps.core.money import flows_to_usd, round_flows, round_fraction
from apps.plans.models import Subscription
from apps.plans.selectors import effective_usd_per_flow
from apps.usage.models import WINDOW_KINDS, QuotaWindow, Reservation, ReservationStatus, UsageEvent
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


def extra_usage_spent(*, account, key: ApiKey | None = None) -> Decimal:
    """USD billed through Extra Usage (settled usage events), for the account or through one key."""
    events = UsageEvent.objects.filter(account=account, extra_usage=True)
    if key is not None:
        events = events.filter(billed_key=key)
    return events.aggregate(total=Sum("cost_usd"))["total"] or ZERO


@dataclass(frozen=True)
class ExtraUsageActive:
    since: datetime  # when billing first moved to the wallet in the current exhaustion
    key_name: str


def extra_usage_active_since(
    *, account, windows: dict, now: datetime | None = None
) -> ExtraUsageActive | None:
    """While a subscription window is exhausted: since when requests are billed through Extra Usage.

    Derived from the data: the first Extra Usage reservation made since the exhausted window(s) started.
    `windows` is `quota_windows_for_account(...)` for the same moment.
    """
    now = now or timezone.now()
    starts = [
        view.started_at
        for view in windows.values()
        if view.started_at is not None and view.used_flows + view.reserved_flows >= view.max_flows
    ]
    if not starts:
        return None
    first = (
        Reservation.objects.filter(account=account, extra_usage=True, created_at__gte=min(starts))
        .exclude(status=ReservationStatus.RELEASED)
        .select_related("billed_key")
        .order_by("created_at", "id")
        .first()
    )
    if first is None or first.billed_key is None:
        return None
    return ExtraUsageActive(since=first.created_at, key_name=first.billed_key.name)
