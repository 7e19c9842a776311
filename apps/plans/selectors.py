from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import AccountStatus
from apps.core.money import flows_to_usd, round_rate, value_multiplier
from apps.plans.models import FlowRate, Plan


def flow_rate_current(*, at: datetime | None = None) -> Decimal:
    """The base USD per Flow in effect at `at` (now by default): the latest rate effective by then."""
    at = at or timezone.now()
    rate = (
        FlowRate.objects.filter(effective_from__lte=at)
        .order_by("-effective_from", "-id")
        .values_list("usd_per_flow", flat=True)
        .first()
    )
    return rate if rate is not None else settings.FLOWPORT_DEFAULT_USD_PER_FLOW


def flow_value_multiplier(*, account) -> Decimal:
    """The account's multiplier; an abusive account's is capped below 1 (SPEC §3), whatever staff set."""
    multiplier = account.flow_value_multiplier
    if account.status == AccountStatus.ABUSIVE:
        multiplier = min(multiplier, settings.FLOWPORT_ABUSIVE_FLOW_MULTIPLIER)
    return multiplier


def effective_usd_per_flow(*, account, base_rate: Decimal | None = None) -> Decimal:
    """Base rate × the account's flow value multiplier, 12 places (SPEC §1)."""
    base = base_rate if base_rate is not None else flow_rate_current()
    return round_rate(base * flow_value_multiplier(account=account))


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    usd_equivalent: Decimal | None
    value_multiplier: Decimal | None


def plan_rows(*, rate: Decimal | None = None) -> list[PlanRow]:
    """The pricing table: each public plan with its derived USD value and value multiplier."""
    rate = rate if rate is not None else flow_rate_current()
    rows = []
    for plan in Plan.objects.filter(is_public=True).order_by("rank"):
        if plan.is_free:
            rows.append(PlanRow(plan=plan, usd_equivalent=None, value_multiplier=None))
            continue
        usd_value = flows_to_usd(plan.monthly_max_flows, rate)
        rows.append(
            PlanRow(
                plan=plan,
                usd_equivalent=usd_value,
                value_multiplier=value_multiplier(usd_value, plan.price_usd),
            )
        )
    return rows


def plan_free() -> Plan:
    return Plan.objects.filter(price_usd=0).order_by("rank").first()
