"""Seeding the plans and catalog (SPEC §2): complete, idempotent, and never overwriting staff edits."""

from decimal import Decimal

import pytest

from apps.plans.models import CatalogModel, FlowRate, ModelCategory, ModelStatus, Plan
from apps.plans.seed import CATALOG, LIST_PRICES, seed_catalog

pytestmark = pytest.mark.django_db


def _snapshot():
    return {
        "plans": list(Plan.objects.order_by("tier").values()),
        "models": list(CatalogModel.objects.order_by("slug").values()),
        "rates": list(FlowRate.objects.order_by("pk").values()),
    }


def test_catalog_holds_the_full_reference_lists():
    slugs = [row[0] for row in CATALOG]
    assert len(slugs) == len(set(slugs)) == 96
    by_tier = {}
    for model in CatalogModel.objects.select_related("min_plan"):
        by_tier.setdefault(model.min_plan.tier, set()).add(model.slug)
    assert len(by_tier["free"]) == 12
    assert len(by_tier["free"] | by_tier["pro"]) == 94  # the "70+" Pro list
    assert by_tier["max"] == {"openai/gpt-5.2-pro", "openai/gpt-5-pro"}
    assert "ultra" not in by_tier
    assert {"deepseek/deepseek-chat", "z-ai/glm-4.7", "xiaomi/mimo-v2-flash"} <= by_tier["free"]


def test_catalog_rows_carry_provider_category_and_status():
    sonnet = CatalogModel.objects.get(slug="anthropic/claude-sonnet-4.5")
    assert (sonnet.display_name, sonnet.provider, sonnet.category, sonnet.status) == (
        "Claude Sonnet 4.5",
        "Anthropic",
        ModelCategory.TEXT,
        ModelStatus.AVAILABLE,
    )
    assert CatalogModel.objects.get(slug="x-ai/grok-4").provider == "xAI"
    assert CatalogModel.objects.get(slug="z-ai/glm-4.7").provider == "Z.AI"
    assert CatalogModel.objects.get(slug="openai/gpt-5.2").display_name == "GPT-5.2"
    soon = set(CatalogModel.objects.filter(status=ModelStatus.COMING_SOON).values_list("slug", flat=True))
    assert soon == {"openai/gpt-image-1.5", "tencent/hunyuan-image3"}
    images = set(CatalogModel.objects.filter(category=ModelCategory.IMAGE).values_list("slug", flat=True))
    assert {"nanobanana/nanobanana-pro", "openai/gpt-image-1.5", "tencent/hunyuan-image3"} <= images


def test_list_prices_are_seeded_where_known_and_left_empty_elsewhere():
    gpt5 = CatalogModel.objects.get(slug="openai/gpt-5")
    assert (gpt5.input_usd_per_mtok, gpt5.output_usd_per_mtok, gpt5.usd_per_request) == (
        Decimal("1.250000"),
        Decimal("10.000000"),
        None,
    )
    assert set(LIST_PRICES) <= {row[0] for row in CATALOG}
    unpriced = CatalogModel.objects.get(slug="inclusionai/ring-1t")
    assert not unpriced.has_list_prices


def test_seeding_twice_leaves_the_same_rows():
    before = _snapshot()
    assert seed_catalog() == {"plans": 0, "models": 0, "rates": 0}
    assert _snapshot() == before
    assert (Plan.objects.count(), CatalogModel.objects.count(), FlowRate.objects.count()) == (4, 96, 1)


def test_staff_edits_survive_reseeding():
    model = CatalogModel.objects.get(slug="openai/gpt-5")
    model.display_name = "GPT-5 (renamed by staff)"
    model.input_usd_per_mtok = Decimal("1.100000")
    model.status = ModelStatus.COMING_SOON
    model.min_plan = Plan.objects.get(tier="max")
    model.save()
    Plan.objects.filter(tier="pro").update(price_usd=Decimal("25.00"), rpm=20)
    FlowRate.objects.update(usd_per_flow=Decimal("0.03"))
    CatalogModel.objects.filter(slug="qwen/qwen3-max").delete()

    created = seed_catalog()

    assert created == {"plans": 0, "models": 1, "rates": 0}  # only the missing model comes back
    model.refresh_from_db()
    assert model.display_name == "GPT-5 (renamed by staff)"
    assert model.input_usd_per_mtok == Decimal("1.100000")
    assert model.status == ModelStatus.COMING_SOON
    assert model.min_plan.tier == "max"
    pro = Plan.objects.get(tier="pro")
    assert (pro.price_usd, pro.rpm) == (Decimal("25.00"), 20)
    assert FlowRate.objects.get().usd_per_flow == Decimal("0.030000000000")
    assert CatalogModel.objects.filter(slug="qwen/qwen3-max").exists()


def test_seed_command_is_idempotent(capsys):
    from django.core.management import call_command

    call_command("seed_catalog")
    assert "0 plans, 0 models, 0 Flow rates created" in capsys.readouterr().out
