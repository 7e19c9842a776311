from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import AccountStatus
from apps.core.money import flows_to_usd, round_rate, value_multiplier
from apps.plans.models import CatalogModel, FlowRate, Plan, Subscription


def flow_rates_in_effect(*, at: datetime | None = None) -> QuerySet[FlowRate]:
    """Rates in effect by `at` (now by default), the current one first."""
    return FlowRate.objects.filter(effective_from__lte=at or timezone.now()).order_by(
        "-effective_from", "-id"
    )


def flow_rate_current(*, at: datetime | None = None) -> Decimal:
    """The base USD per Flow in effect at `at` (now by default): the latest rate effective by then."""
    rate = flow_rates_in_effect(at=at).values_list("usd_per_flow", flat=True).first()
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


def subscription_get_for_account(*, account):
    """The account's subscription with its plans (every account has exactly one)."""
    return Subscription.objects.select_related("plan", "scheduled_plan").get(account=account)


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    usd_equivalent: Decimal | None
    value_multiplier: Decimal | None


def plans_public() -> list[Plan]:
    return list(Plan.objects.filter(is_public=True).order_by("rank"))


def plan_rows(*, rate: Decimal | None = None, plans: Iterable[Plan] | None = None) -> list[PlanRow]:
    """The pricing table: each public plan with its derived USD value and value multiplier."""
    rate = rate if rate is not None else flow_rate_current()
    rows = []
    for plan in plans if plans is not None else plans_public():
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


@dataclass(frozen=True)
class ProviderGroup:
    provider: str
    models: list[CatalogModel]


@dataclass(frozen=True)
class PlanModels:
    """The models one plan includes, grouped by provider."""

    plan: Plan
    groups: list[ProviderGroup]
    model_count: int
    previous: Plan | None  # the plan listed just before (ranked below), if any
    added_count: int  # models this plan adds to `previous`


def plan_models_by_provider(*, plans: Iterable[Plan] | None = None) -> list[PlanModels]:
    """For each plan (the public ones by default), its models grouped by provider, in at most two queries.

    A plan includes every model whose lowest plan ranks at or below it. Providers keep the catalog's
    order (the first model of each provider, by sort order), models their sort order within a group.
    """
    plans = list(plans) if plans is not None else plans_public()
    models = list(CatalogModel.objects.select_related("min_plan").order_by("sort_order", "slug"))
    provider_position: dict[str, int] = {}
    for model in models:
        provider_position.setdefault(model.provider, len(provider_position))
    result: list[PlanModels] = []
    for plan in sorted(plans, key=lambda p: p.rank):
        grouped: dict[str, list[CatalogModel]] = {}
        for model in models:
            if model.min_plan.rank <= plan.rank:
                grouped.setdefault(model.provider, []).append(model)
        count = sum(len(group) for group in grouped.values())
        result.append(
            PlanModels(
                plan=plan,
                groups=[
                    ProviderGroup(provider=name, models=grouped[name])
                    for name in sorted(grouped, key=provider_position.__getitem__)
                ],
                model_count=count,
                previous=result[-1].plan if result else None,
                added_count=count - result[-1].model_count if result else count,
            )
        )
    return result


@dataclass(frozen=True)
class PricingPage:
    """Everything the public pricing page shows, derived from the plans, the catalog and the rate."""

    rate: Decimal
    flows_per_usd: Decimal  # 1 / rate, unrounded (the page shows it as "about 40 Flows = $1")
    rows: list[PlanRow]
    plan_models: list[PlanModels]
    rpm_min: int | None
    rpm_max: int | None
    multiplier_min: Decimal | None
    multiplier_max: Decimal | None


def pricing_page() -> PricingPage:
    """The pricing page's data in a bounded number of queries (rate, plans, catalog)."""
    rate = flow_rate_current()
    plans = plans_public()
    rows = plan_rows(rate=rate, plans=plans)
    rpms = [plan.rpm for plan in plans]
    multipliers = [row.value_multiplier for row in rows if row.value_multiplier is not None]
    return PricingPage(
        rate=rate,
        flows_per_usd=Decimal(1) / rate,
        rows=rows,
        plan_models=plan_models_by_provider(plans=plans),
        rpm_min=min(rpms, default=None),
        rpm_max=max(rpms, default=None),
        multiplier_min=min(multipliers, default=None),
        multiplier_max=max(multipliers, default=None),
    )
