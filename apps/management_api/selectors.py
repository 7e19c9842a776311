"""Reads behind the management REST API (SPEC §11). Numbers are rounded here, through apps.core.money.

The quota windows come from the metering selector `quota_windows_for_account`, the one the console's
subscription page uses, so the API and the page always show the same numbers.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from apps.api_keys.models import KEY_PREFIXES, ApiKey, ApiKeyKind, ApiKeyStatus
from apps.core.money import round_rate, round_usage
from apps.plans.models import Subscription
from apps.plans.selectors import effective_usd_per_flow, flow_rate_current
from apps.usage.models import UsageEvent, WindowKind
from apps.usage.selectors import QuotaWindowView, quota_windows_for_account
from apps.usage.windows import monthly_period
from apps.wallet.selectors import wallet_balances

ZERO = Decimal("0")
CURRENCY = "usd"
INTERVAL = "month"
OTHERS = "__others__"

METRIC_TOKENS = "tokens"
METRIC_COST = "cost"
METRICS = (METRIC_TOKENS, METRIC_COST)
BUCKET_DAY = "1d"
BUCKET_WEEK = "1w"
BUCKET_WIDTHS = {BUCKET_DAY: timedelta(days=1), BUCKET_WEEK: timedelta(weeks=1)}
MAX_BUCKETS = 60


# --- rates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowRateDetail:
    currency: str
    base_usd_per_flow: Decimal
    effective_usd_per_flow: Decimal


def flow_rate_detail(*, account) -> FlowRateDetail:
    """The base rate in effect now and the account's effective rate (base × its multiplier), 12 places."""
    base = flow_rate_current()
    return FlowRateDetail(
        currency=CURRENCY,
        base_usd_per_flow=round_rate(base),
        effective_usd_per_flow=effective_usd_per_flow(account=account, base_rate=base),
    )


# --- subscription detail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanDetail:
    tier: str
    amount_usd: Decimal
    interval: str
    expires_at: datetime


@dataclass(frozen=True)
class MonthlyQuotaDetail:
    max_flows: Decimal
    max_value_usd: Decimal


@dataclass(frozen=True)
class SubscriptionDetail:
    plan: PlanDetail
    currency: str
    base_usd_per_flow: Decimal
    effective_usd_per_flow: Decimal
    account_status: str
    quota_5_hour: QuotaWindowView
    quota_7_day: QuotaWindowView
    quota_monthly: MonthlyQuotaDetail
    resets_remaining: int  # extension (issue #22): manual 5-hour window resets left this billing cycle


def subscription_detail(*, account, now: datetime | None = None) -> SubscriptionDetail:
    """The account's plan, rates and quota windows at `now` (SPEC §11 `subscription/detail`).

    `expires_at` is the end of the current billing cycle, for Free too (a Free cycle the renewal job
    has not rolled yet is rolled here exactly as the job will roll it).
    """
    now = now or timezone.now()
    subscription = Subscription.objects.select_related("plan").get(account=account)
    windows = quota_windows_for_account(account=account, now=now)
    rates = flow_rate_detail(account=account)
    _start, period_end = monthly_period(subscription=subscription, now=now)
    monthly = windows[WindowKind.MONTHLY]
    return SubscriptionDetail(
        plan=PlanDetail(
            tier=subscription.plan.tier,
            amount_usd=subscription.plan.price_usd,
            interval=INTERVAL,
            expires_at=period_end,
        ),
        currency=CURRENCY,
        base_usd_per_flow=rates.base_usd_per_flow,
        effective_usd_per_flow=rates.effective_usd_per_flow,
        account_status=account.status,
        quota_5_hour=windows[WindowKind.FIVE_HOUR],
        quota_7_day=windows[WindowKind.WEEKLY],
        quota_monthly=MonthlyQuotaDetail(max_flows=monthly.max_flows, max_value_usd=monthly.max_value_usd),
        resets_remaining=subscription.window_resets_remaining,
    )


# --- pay-as-you-go balance -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaygBalance:
    currency: str
    total_credits: Decimal
    top_up_credits: Decimal
    bonus_credits: Decimal


def payg_balance(*, account) -> PaygBalance:
    """The wallet's buckets; total = top-up + bonus − arrears (negative while arrears exceed credits)."""
    balances = wallet_balances(account=account)
    return PaygBalance(
        currency=CURRENCY,
        total_credits=round_usage(balances.total),
        top_up_credits=round_usage(balances.top_up),
        bonus_credits=round_usage(balances.bonus),
    )


# --- one generation ------------------------------------------------------------------------------------


GENERATION_FIELDS = (
    "request_id",
    "created_at",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "flows",
    "billed_to",
    "extra_usage",
    "api_key_id",
    "model__slug",
)


@dataclass(frozen=True)
class GenerationsPage:
    generations: list[UsageEvent]
    # (created_at, id) of the last generation when more follow, else None: where the next page starts.
    next_after: tuple[datetime, int] | None


def generations_page(
    *,
    account,
    starting_at: datetime,
    ending_at: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> GenerationsPage:
    """The account's settled requests in [starting_at, ending_at), newest first, `limit` at a time.

    Keyset pagination on (created_at, id): a page continues strictly after `after`, so requests settled
    while a client pages never shift or repeat rows. One query (limit + 1 rows tells if more follow).
    """
    events = UsageEvent.objects.filter(account=account, created_at__gte=starting_at, created_at__lt=ending_at)
    if after is not None:
        created_at, pk = after
        events = events.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(
        events.select_related("model").only(*GENERATION_FIELDS).order_by("-created_at", "-id")[: limit + 1]
    )
    if len(rows) > limit:
        rows = rows[:limit]
        return GenerationsPage(generations=rows, next_after=(rows[-1].created_at, rows[-1].pk))
    return GenerationsPage(generations=rows, next_after=None)


def generation_get(*, account, request_id: str) -> UsageEvent | None:
    """One settled request of this account, by the gateway's request id; None if unknown or another's."""
    return (
        UsageEvent.objects.filter(account=account, request_id=request_id)
        .select_related("model")
        .only(*GENERATION_FIELDS)
        .first()
    )


# --- time series ---------------------------------------------------------------------------------------


def bucket_floor(moment: datetime, bucket_width: str) -> datetime:
    """The start of the UTC day or ISO week (Monday 00:00 UTC) containing `moment`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket_width == BUCKET_WEEK:
        return day - timedelta(days=day.weekday())
    return day


def bucket_count(*, starting_at: datetime, ending_at: datetime, bucket_width: str) -> int:
    """How many aligned buckets the half-open range [starting_at, ending_at) touches (ending_at > starting_at)."""
    first = bucket_floor(starting_at, bucket_width)
    last = bucket_floor(ending_at - timedelta(microseconds=1), bucket_width)
    return (last - first) // BUCKET_WIDTHS[bucket_width] + 1


@dataclass(frozen=True)
class Series:
    model: str
    total: Decimal | int
    values: list


@dataclass(frozen=True)
class Timeseries:
    metric: str
    bucket_width: str
    starting_at: datetime
    ending_at: datetime
    buckets: list[datetime]
    series: list[Series]


def usage_timeseries(
    *,
    account,
    metric: str,
    bucket_width: str,
    starting_at: datetime,
    ending_at: datetime,
    limit: int,
) -> Timeseries:
    """Per-model totals of `metric` per aligned bucket over [starting_at, ending_at) (one query).

    Tokens are input + output tokens; cost is the settled cost in USD (subscription and pay-as-you-go
    alike). The `limit` models with the largest totals get their own series (ties by slug), the rest are
    summed into `__others__`. Every bucket is present, with 0 where nothing was used. Callers check the
    range first (`bucket_count` ≤ MAX_BUCKETS).
    """
    first = bucket_floor(starting_at, bucket_width)
    count = bucket_count(starting_at=starting_at, ending_at=ending_at, bucket_width=bucket_width)
    width = BUCKET_WIDTHS[bucket_width]
    buckets = [first + width * index for index in range(count)]
    position = {bucket: index for index, bucket in enumerate(buckets)}
    trunc = TruncWeek if bucket_width == BUCKET_WEEK else TruncDay
    measure = F("input_tokens") + F("output_tokens") if metric == METRIC_TOKENS else F("cost_usd")
    rows = (
        UsageEvent.objects.filter(account=account, created_at__gte=starting_at, created_at__lt=ending_at)
        .annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values("model__slug", "bucket")
        .annotate(value=Sum(measure))
        .order_by()
        .values_list("model__slug", "bucket", "value")
    )
    zero = 0 if metric == METRIC_TOKENS else ZERO
    per_model: dict[str, list] = {}
    for slug, bucket, value in rows:  # one row per (model, bucket): at most models × 60
        values = per_model.setdefault(slug, [zero] * count)
        values[position[bucket]] += value
    ranked = sorted(per_model.items(), key=lambda item: (-sum(item[1], zero), item[0]))
    series = [_series(slug, values, metric) for slug, values in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        summed = [sum(column, zero) for column in zip(*(values for _slug, values in rest), strict=True)]
        series.append(_series(OTHERS, summed, metric))
    return Timeseries(
        metric=metric,
        bucket_width=bucket_width,
        starting_at=starting_at,
        ending_at=ending_at,
        buckets=buckets,
        series=series,
    )


def _series(model: str, values: list, metric: str) -> Series:
    if metric == METRIC_COST:
        values = [round_usage(value) for value in values]
        return Series(model=model, total=round_usage(sum(values, ZERO)), values=values)
    return Series(model=model, total=sum(values), values=values)


# --- console help --------------------------------------------------------------------------------------


def management_key_example_prefix(*, account) -> str:
    """The display prefix of the account's first usable management key (for the curl example)."""
    key = (
        ApiKey.objects.live()
        .filter(account=account, kind=ApiKeyKind.MANAGEMENT, status=ApiKeyStatus.ENABLED)
        .order_by("created_at", "id")
        .values_list("prefix", flat=True)
        .first()
    )
    return key or KEY_PREFIXES[ApiKeyKind.MANAGEMENT]


def inference_keys_with_limits(*, account) -> dict:
    """The account's live inference keys with their limits (issue #22), for `GET keys`."""
    keys = (
        ApiKey.objects.live()
        .filter(account=account)
        .exclude(kind=ApiKeyKind.MANAGEMENT)
        .order_by("created_at", "id")
    )
    return {
        "keys": [
            {
                "id": key.pk,
                "name": key.name,
                "kind": key.kind,
                "masked": key.masked,
                "status": key.status,
                "limits": {
                    "spend_limit": key.spend_limit,
                    "spend_limit_period": key.spend_limit_period or None,
                    "allowed_models": list(key.allowed_models),
                    "rpm_limit": key.rpm_limit,
                },
            }
            for key in keys
        ]
    }
