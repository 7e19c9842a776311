"""Seed data for the plan table (SPEC §2) and the model catalog (reference/subscription-en.md).

Seeding creates what is missing and never overwrites what staff have edited since.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.plans.models import CatalogModel, FlowRate, Plan

PLANS = [
    # tier, name, rank, price, 5h, weekly, monthly, rpm
    ("free", "Free", 0, "0", "5", "50.4", "216", 10),
    ("pro", "Pro", 1, "20", "50", "504", "2160", 15),
    ("max", "Max", 2, "100", "300", "3024", "12960", 15),
    ("ultra", "Ultra", 3, "200", "800", "8064", "34560", 15),
]

# (slug, display name, provider, category, lowest tier, status)
CATALOG: list[tuple[str, str, str, str, str, str]] = [
    ("deepseek/deepseek-chat", "DeepSeek V3.2", "DeepSeek", "text", "free", "available"),
    ("anthropic/claude-sonnet-4.5", "Claude Sonnet 4.5", "Anthropic", "text", "pro", "available"),
    ("openai/gpt-5", "GPT-5", "OpenAI", "text", "pro", "available"),
    ("openai/gpt-5-pro", "GPT-5 Pro", "OpenAI", "text", "max", "available"),
    ("openai/gpt-5.2-pro", "GPT-5.2 Pro", "OpenAI", "text", "max", "available"),
]

# Optional list prices (USD per 1M input tokens, per 1M output tokens, per request), used when the
# gateway reports no cost (SPEC §7).
LIST_PRICES: dict[str, tuple[str | None, str | None, str | None]] = {}


@transaction.atomic
def seed_catalog() -> dict[str, int]:
    """Create missing plans, catalog models and the initial Flow rate. Safe to run any number of times."""
    created = {"plans": 0, "models": 0, "rates": 0}
    plans = {plan.tier: plan for plan in Plan.objects.all()}
    for tier, name, rank, price, q5h, weekly, monthly, rpm in PLANS:
        if tier in plans:
            continue
        plans[tier] = Plan.objects.create(
            tier=tier,
            name=name,
            rank=rank,
            price_usd=Decimal(price),
            quota_5h_flows=Decimal(q5h),
            weekly_max_flows=Decimal(weekly),
            monthly_max_flows=Decimal(monthly),
            rpm=rpm,
        )
        created["plans"] += 1
    existing = set(CatalogModel.objects.values_list("slug", flat=True))
    missing = []
    for order, (slug, display, provider, category, tier, status) in enumerate(CATALOG):
        if slug in existing:
            continue
        prices = LIST_PRICES.get(slug, (None, None, None))
        missing.append(
            CatalogModel(
                slug=slug,
                display_name=display,
                provider=provider,
                category=category,
                min_plan=plans[tier],
                status=status,
                input_usd_per_mtok=Decimal(prices[0]) if prices[0] else None,
                output_usd_per_mtok=Decimal(prices[1]) if prices[1] else None,
                usd_per_request=Decimal(prices[2]) if prices[2] else None,
                sort_order=order,
            )
        )
    CatalogModel.objects.bulk_create(missing)
    created["models"] = len(missing)
    if not FlowRate.objects.exists():
        FlowRate.objects.create(
            usd_per_flow=settings.FLOWPORT_DEFAULT_USD_PER_FLOW,
            effective_from=timezone.now(),
            note="Initial rate: 1/39.6 USD per Flow",
        )
        created["rates"] = 1
    return created
