"""Usage analytics (SPEC §12): usage events aggregated in the database, one query per grouping.

Every row splits its requests by who paid: the subscription (Flows), pay-as-you-go (USD) and Extra
Usage (USD billed to the wallet while a subscription window was exhausted). The number of queries is
fixed whatever the number of events.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from apps.usage.models import Decision, UsageEvent

ZERO = Decimal("0")
SUBSCRIPTION = Q(billed_to=Decision.SUBSCRIPTION)
PAYG = Q(billed_to=Decision.PAYG, extra_usage=False)
EXTRA = Q(extra_usage=True)
GROUPS = {
    "model": ("model__slug",),
    "key": ("api_key_id", "api_key__name"),
    "day": ("day",),
}


@dataclass(frozen=True)
class UsageRow:
    """One group (a model, a key or a day) of usage events."""

    label: str
    group: object  # model slug, key id or date
    requests: int
    input_tokens: int
    output_tokens: int
    flows: Decimal  # billed to the subscription
    subscription_requests: int
    subscription_usd: Decimal  # list cost of the subscription requests
    payg_usd: Decimal
    payg_requests: int
    extra_usd: Decimal
    extra_requests: int

    @property
    def cost_usd(self) -> Decimal:
        return self.subscription_usd + self.payg_usd + self.extra_usd

    @property
    def wallet_usd(self) -> Decimal:
        return self.payg_usd + self.extra_usd


DECIMALS = {"flows", "subscription_usd", "payg_usd", "extra_usd"}


def _sum(name, condition=None):
    return Coalesce(Sum(name, filter=condition), ZERO)


AGGREGATES = {
    "requests": Count("id"),
    "input_tokens": Coalesce(Sum("input_tokens"), 0),
    "output_tokens": Coalesce(Sum("output_tokens"), 0),
    "flows": _sum("flows", SUBSCRIPTION),
    "subscription_requests": Count("id", filter=SUBSCRIPTION),
    "subscription_usd": _sum("cost_usd", SUBSCRIPTION),
    "payg_usd": _sum("cost_usd", PAYG),
    "payg_requests": Count("id", filter=PAYG),
    "extra_usd": _sum("cost_usd", EXTRA),
    "extra_requests": Count("id", filter=EXTRA),
}


def usage_events_in_range(*, account, start: datetime, end: datetime, subscription_side: bool = False):
    """The account's usage events in [start, end); `subscription_side`: only those made with
    subscription keys (billed to the subscription or through Extra Usage)."""
    events = UsageEvent.objects.filter(account=account, created_at__gte=start, created_at__lt=end)
    if subscription_side:
        events = events.filter(SUBSCRIPTION | EXTRA)
    return events


def usage_rows(
    *, account, start: datetime, end: datetime, group: str, subscription_side: bool = False
) -> list[UsageRow]:
    """Usage in [start, end) grouped by "model", "key" or "day" (UTC days, oldest first; others by
    Flows then cost, largest first). One query."""
    events = usage_events_in_range(account=account, start=start, end=end, subscription_side=subscription_side)
    if group == "day":
        events = events.annotate(day=TruncDate("created_at", tzinfo=UTC))
    fields = GROUPS[group]
    rows = events.values(*fields).annotate(**AGGREGATES).order_by()
    result = []
    for row in rows:
        if group == "model":
            label, key = row["model__slug"], row["model__slug"]
        elif group == "key":
            label, key = row["api_key__name"], row["api_key_id"]
        else:
            label, key = row["day"].isoformat(), row["day"]
        result.append(UsageRow(label=label, group=key, **{name: row[name] for name in AGGREGATES}))
    if group == "day":
        result.sort(key=lambda row: row.group)
    else:
        result.sort(key=lambda row: (-row.flows, -row.cost_usd, str(row.label)))
    return result


@dataclass(frozen=True)
class UsageBreakdown:
    start: datetime
    end: datetime
    by_model: list[UsageRow]
    by_key: list[UsageRow]
    by_day: list[UsageRow]
    totals: dict = field(default_factory=dict)


def usage_breakdown(
    *, account, start: datetime, end: datetime, subscription_side: bool = False
) -> UsageBreakdown:
    """Usage in [start, end) by model, by key and by day, with totals: three queries."""
    kwargs = {"account": account, "start": start, "end": end, "subscription_side": subscription_side}
    by_key = usage_rows(group="key", **kwargs)
    # Every event has exactly one key, so the totals are the sums of the per-key rows (no 4th query).
    totals = {
        name: sum((getattr(row, name) for row in by_key), ZERO if name in DECIMALS else 0)
        for name in AGGREGATES
    }
    return UsageBreakdown(
        start=start,
        end=end,
        by_model=usage_rows(group="model", **kwargs),
        by_key=by_key,
        by_day=usage_rows(group="day", **kwargs),
        totals=totals,
    )


def usage_days(*, start: date, end: date) -> list[date]:
    """Every UTC day from start to end inclusive (for charts with empty days shown)."""
    days, day = [], start
    while day <= end and len(days) < 400:
        days.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return days


def usage_events_for_key(
    *, key, start: datetime | None = None, end: datetime | None = None, model_slug: str | None = None
):
    """A key's usage records, newest first: requests made with it, and for a pay-as-you-go key also
    the Extra Usage requests billed through it. Paginate the result (one query per page)."""
    events = UsageEvent.objects.filter(Q(api_key=key) | Q(billed_key=key)).filter(account_id=key.account_id)
    if start is not None:
        events = events.filter(created_at__gte=start)
    if end is not None:
        events = events.filter(created_at__lt=end)
    if model_slug:
        events = events.filter(model__slug=model_slug)
    return events.select_related("model", "api_key", "billed_key").order_by("-created_at", "-id")
