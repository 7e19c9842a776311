"""Anomaly signals (SPEC §14), computed for every account at once with aggregate queries.

Each query groups the look-back period's usage events in the database (per account, per key and hour,
per account and minute, per client IP …); Python only folds the grouped rows, whose number is bounded
by accounts × keys × hours, never by the number of events. The functions are plain ORM (TruncHour,
TruncMinute, TruncDate, COUNT DISTINCT, HAVING), so they run the same on PostgreSQL and SQLite.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncHour, TruncMinute

from apps.abuse.models import AccountSignals, Signal
from apps.api_keys.models import ApiKeyKind
from apps.core.models import AuditEvent
from apps.usage.models import QuotaWindow, QuotaWindowArchive, UsageEvent, WindowKind

ZERO = Decimal("0")
HOURS_PER_WEEK = 7 * 24
TOP = 3


def _q4(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass
class AccountEvidence:
    """What the job found for one account over the look-back period."""

    values: dict[str, Decimal] = field(default_factory=dict)
    requests_7d: int = 0
    flows_7d: Decimal = ZERO
    distinct_ips_7d: int = 0
    daily: list = field(default_factory=list)
    top_models: list = field(default_factory=list)
    top_keys: list = field(default_factory=list)

    def ratios(self) -> dict[str, Decimal]:
        thresholds = settings.FLOWPORT_ABUSE_THRESHOLDS
        return {name: _q4(Decimal(value) / Decimal(thresholds[name])) for name, value in self.values.items()}

    @property
    def score(self) -> Decimal:
        return max(self.ratios().values(), default=ZERO)

    @property
    def flagged(self) -> list[str]:
        return [name for name, ratio in self.ratios().items() if ratio >= 1]


def signals_compute(*, now: datetime) -> dict[int, AccountEvidence]:
    """Every account with traffic in the look-back period, with its signals and evidence at `now`."""
    lookback = timedelta(days=settings.FLOWPORT_ABUSE_LOOKBACK_DAYS)
    since = now - lookback
    day_ago = now - timedelta(days=1)
    baseline_since = day_ago - lookback
    events = UsageEvent.objects.filter(created_at__gte=since, created_at__lte=now)
    found: dict[int, AccountEvidence] = defaultdict(AccountEvidence)

    # Totals, active hours and the baseline jump: one pass over the period and the baseline before it.
    recent = Q(created_at__gte=since)
    totals = (
        UsageEvent.objects.filter(created_at__gte=baseline_since, created_at__lte=now)
        .values("account_id")
        .annotate(
            requests=Count("id", filter=recent),
            flows=Sum("flows", filter=recent),
            ips=Count("client_ip", filter=recent, distinct=True),
            hours=Count(TruncHour("created_at"), filter=recent, distinct=True),
            last_day=Count("id", filter=Q(created_at__gte=day_ago)),
            before=Count("id", filter=Q(created_at__lt=day_ago)),
        )
    )
    for row in totals:
        if not row["requests"] and not row["last_day"]:
            continue  # only baseline traffic: nothing recent to judge
        evidence = found[row["account_id"]]
        evidence.requests_7d = row["requests"]
        evidence.flows_7d = row["flows"] or ZERO
        evidence.distinct_ips_7d = row["ips"]
        evidence.values[Signal.ACTIVE_HOURS_SHARE] = _q4(Decimal(row["hours"]) / HOURS_PER_WEEK)
        jump = ZERO
        if row["before"] and row["last_day"] >= settings.FLOWPORT_ABUSE_JUMP_MIN_REQUESTS:
            jump = _q4(Decimal(row["last_day"]) * settings.FLOWPORT_ABUSE_LOOKBACK_DAYS / row["before"])
        evidence.values[Signal.BASELINE_JUMP] = jump

    # Distinct client IPs per key per hour (only key-hours with two or more come back).
    per_key_hour = (
        events.filter(client_ip__isnull=False)
        .values("account_id", "api_key_id", hour=TruncHour("created_at"))
        .annotate(ips=Count("client_ip", distinct=True))
        .filter(ips__gte=2)
        .values_list("account_id", "ips")
    )
    most_ips: dict[int, int] = {}
    for account_id, ips in per_key_hour:
        most_ips[account_id] = max(ips, most_ips.get(account_id, 0))

    # Minutes at or near the plan's RPM limit (subscription keys only: pay-as-you-go has no RPM limit).
    ratio = settings.FLOWPORT_ABUSE_NEAR_RPM_RATIO
    near_minutes = (
        events.filter(api_key__kind=ApiKeyKind.SUBSCRIPTION)
        .values("account_id", minute=TruncMinute("created_at"))
        .annotate(requests=Count("id"), rpm=Max("account__subscription__plan__rpm"))
        .filter(requests__gte=F("rpm") * ratio)
        .values("account_id")
    )
    near_rpm: dict[int, int] = defaultdict(int)
    for row in near_minutes:
        near_rpm[row["account_id"]] += 1

    # 5-hour windows used up: archived ones that ended in the period, and the live one.
    exhausted: dict[int, int] = defaultdict(int)
    quota = F("account__subscription__plan__quota_5h_flows")
    for queryset in (
        QuotaWindowArchive.objects.filter(ended_at__gt=since, ended_at__lte=now),
        QuotaWindow.objects.filter(started_at__gt=since - timedelta(hours=5), started_at__lte=now),
    ):
        rows = (
            queryset.filter(kind=WindowKind.FIVE_HOUR, used_flows__gte=quota)
            .values("account_id")
            .annotate(n=Count("id"))
            .values_list("account_id", "n")
        )
        for account_id, n in rows:
            exhausted[account_id] += n

    # Accounts seen from the same client IPs.
    shared_ips = (
        events.filter(client_ip__isnull=False)
        .values("client_ip")
        .annotate(accounts=Count("account_id", distinct=True))
        .filter(accounts__gte=2)
        .values("client_ip")
    )
    accounts_by_ip: dict[str, set[int]] = defaultdict(set)
    for ip, account_id in (
        events.filter(client_ip__in=shared_ips).values_list("client_ip", "account_id").distinct()
    ):
        accounts_by_ip[ip].add(account_id)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for accounts in accounts_by_ip.values():
        for account_id in accounts:
            neighbours[account_id] |= accounts - {account_id}

    for account_id, evidence in found.items():
        evidence.values[Signal.IPS_PER_KEY_HOUR] = Decimal(most_ips.get(account_id, 0))
        evidence.values[Signal.NEAR_RPM_MINUTES] = Decimal(near_rpm.get(account_id, 0))
        evidence.values[Signal.WINDOWS_EXHAUSTED] = Decimal(exhausted.get(account_id, 0))
        evidence.values[Signal.SHARED_IP_ACCOUNTS] = Decimal(len(neighbours.get(account_id, ())))

    _add_daily(found, events=events, now=now)
    _add_top(found, events=events)
    return dict(found)


def _add_daily(found: dict[int, AccountEvidence], *, events, now: datetime) -> None:
    """Requests and Flows per UTC day for the 7 days up to `now` (the sparkline)."""
    days = [(now - timedelta(days=offset)).date() for offset in range(6, -1, -1)]
    per_day: dict[int, dict] = defaultdict(dict)
    rows = (
        events.filter(created_at__date__gte=days[0])
        .values("account_id", day=TruncDate("created_at"))
        .annotate(requests=Count("id"), flows=Sum("flows"))
    )
    for row in rows:
        per_day[row["account_id"]][row["day"]] = (row["requests"], row["flows"] or ZERO)
    for account_id, evidence in found.items():
        counts = per_day.get(account_id, {})
        evidence.daily = [
            [day.isoformat(), counts.get(day, (0, ZERO))[0], str(counts.get(day, (0, ZERO))[1])]
            for day in days
        ]


def _add_top(found: dict[int, AccountEvidence], *, events) -> None:
    models: dict[int, list] = defaultdict(list)
    for row in events.values("account_id", "model__slug").annotate(n=Count("id")):
        models[row["account_id"]].append([row["model__slug"], row["n"]])
    keys: dict[int, list] = defaultdict(list)
    rows = events.values(
        "account_id", "api_key_id", "api_key__name", "api_key__prefix", "api_key__last_four"
    ).annotate(n=Count("id"))
    for row in rows:
        masked = f"{row['api_key__prefix']}…{row['api_key__last_four']}"
        keys[row["account_id"]].append([row["api_key_id"], f"{row['api_key__name']} ({masked})", row["n"]])
    for account_id, evidence in found.items():
        evidence.top_models = sorted(models.get(account_id, []), key=lambda m: (-m[1], m[0]))[:TOP]
        evidence.top_keys = sorted(keys.get(account_id, []), key=lambda k: (-k[2], k[0]))[:TOP]


# --- For the review pages -------------------------------------------------------------------------------


def review_recent_events(*, account_id: int, limit: int = 50):
    return (
        UsageEvent.objects.filter(account_id=account_id)
        .select_related("api_key", "model")
        .order_by("-created_at", "-id")[:limit]
    )


def review_window_history(*, account_id: int, limit: int = 20):
    return QuotaWindowArchive.objects.filter(account_id=account_id).order_by("-started_at", "-id")[:limit]


def review_current_windows(*, account_id: int):
    return QuotaWindow.objects.filter(account_id=account_id).order_by("id")


def review_signals(*, account_id: int) -> AccountSignals | None:
    return AccountSignals.objects.filter(account_id=account_id).first()


def review_audit_trail(*, account_id: int, limit: int = 20):
    return (
        AuditEvent.objects.filter(account_id=account_id)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


# --- What the customer sees (console) --------------------------------------------------------------------


@dataclass(frozen=True)
class AccountNotice:
    """The console's account banner: a restriction (abusive, suspended, banned), or an insider's rate."""

    status: str
    since: datetime | None
    restricted: bool
    flow_value_percent: Decimal | None = None  # abusive: each Flow is worth this % of the standard rate
    rpm_halved: bool = False
    keys_refused: bool = False
    support_email: str = ""
    insider_multiplier: Decimal | None = None
    insider_usd_per_flow: Decimal | None = None


def account_notice(*, account, with_insider_rate: bool = False) -> AccountNotice | None:
    """What a restricted account is told (SPEC §14): what is limited, since when, how to appeal.

    Monitored accounts see nothing (their service is unchanged). With `with_insider_rate` (the
    subscription page), an insider sees the effective value of a Flow. At most two queries, none for
    an account in good standing.
    """
    from apps.accounts.models import AccountStatus
    from apps.plans.selectors import effective_usd_per_flow, flow_value_multiplier

    restricted = account.status in (AccountStatus.ABUSIVE, AccountStatus.SUSPENDED, AccountStatus.BANNED)
    if restricted:
        since = (
            AuditEvent.objects.filter(account_id=account.pk, event_type="account.status_changed")
            .order_by("-created_at", "-id")
            .values_list("created_at", flat=True)
            .first()
        )
        abusive = account.status == AccountStatus.ABUSIVE
        return AccountNotice(
            status=account.status,
            since=since,
            restricted=True,
            flow_value_percent=(flow_value_multiplier(account=account) * 100).normalize()
            if abusive
            else None,
            rpm_halved=abusive,
            keys_refused=not abusive,
            support_email=settings.FLOWPORT_SUPPORT_EMAIL,
        )
    if with_insider_rate and account.is_insider:
        return AccountNotice(
            status=account.status,
            since=None,
            restricted=False,
            insider_multiplier=flow_value_multiplier(account=account).normalize(),
            insider_usd_per_flow=effective_usd_per_flow(account=account),
        )
    return None
