from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from apps.core.money import flows_to_usd, round_rate, value_multiplier
from apps.plans.models import FlowRate, Plan, Subscription


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


def effective_usd_per_flow(*, account, base_rate: Decimal | None = None) -> Decimal:
    """Base rate × the account's flow value multiplier, 12 places (SPEC §1)."""
    base = base_rate if base_rate is not None else flow_rate_current()
    return round_rate(base * account.flow_value_multiplier)


def subscription_get_for_account(*, account):
    """The account's subscription with its plans (every account has exactly one)."""
    return Subscription.objects.select_related("plan", "scheduled_plan").get(account=account)


def plan_get_public(*, tier: str) -> Plan:
    """A plan offered to customers (Plan.DoesNotExist otherwise, so views answer 404)."""
    return Plan.objects.get(tier=tier, is_public=True)


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
