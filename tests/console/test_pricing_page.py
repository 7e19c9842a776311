"""The public pricing page (SPEC §2, §12): derived values, per-plan model lists, limits, rules and FAQ."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.plans.models import CatalogModel, FlowRate, ModelStatus, Plan

pytestmark = pytest.mark.django_db

EXPECTED_DEFAULT = {
    "free": ("—", "—"),
    "pro": ("$54.55", "2.73x"),
    "max": ("$327.27", "3.27x"),
    "ultra": ("$872.73", "4.36x"),
}


def _row_values(html: str, tier: str) -> tuple[str, str]:
    row = re.search(rf'<tr data-tier="{tier}">(.*?)</tr>', html, re.S).group(1)
    usd = re.search(r'data-col="usd-value">\s*(.*?)\s*</td>', row, re.S).group(1)
    multiplier = re.search(r'data-col="multiplier">\s*(.*?)\s*</td>', row, re.S).group(1)
    return usd, multiplier


def _table_values(html: str) -> dict[str, tuple[str, str]]:
    table = re.search(r'data-testid="plan-table">(.*?)</table>', html, re.S).group(1)
    return {tier: _row_values(table, tier) for tier in re.findall(r'<tr data-tier="(\w+)">', table)}


def _plan_section(html: str, tier: str) -> str:
    return re.search(rf'<details class="plan-models"\s+data-plan="{tier}".*?</details>', html, re.S).group(0)


def _models_in(section: str) -> list[str]:
    return re.findall(r'<li data-model="([^"]+)">', section)


def test_pricing_table_shows_exact_derived_values_for_every_plan(client):
    html = client.get("/pricing/").content.decode()
    assert _table_values(html) == EXPECTED_DEFAULT
    assert "USD equivalent value" in html
    assert "Value multiplier" in html
    assert "1 Flow ≈ $0.02525, about 40 Flows = $1" in html


def test_chinese_pricing_table_has_translated_headers_and_the_same_numbers(client):
    response = client.get("/zh-hans/pricing/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "等价 USD 价值" in html
    assert "价值杠杆" in html
    assert "月最大 Flows" in html
    assert _table_values(html) == EXPECTED_DEFAULT


def test_pricing_page_runs_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = client.get("/pricing/")
    assert response.status_code == 200


def test_pricing_page_queries_do_not_grow_with_the_catalog(client, django_assert_max_num_queries):
    pro = Plan.objects.get(tier="pro")
    CatalogModel.objects.bulk_create(
        CatalogModel(slug=f"acme/model-{i}", display_name=f"Acme {i}", provider=f"Acme {i % 7}", min_plan=pro)
        for i in range(50)
    )
    with django_assert_max_num_queries(4):
        html = client.get("/pricing/").content.decode()
    assert "acme/model-49" in _plan_section(html, "ultra")


def test_every_catalog_model_appears_under_exactly_the_plans_that_include_it(client):
    html = client.get("/pricing/").content.decode()
    plans = list(Plan.objects.filter(is_public=True).order_by("rank"))
    sections = {plan.tier: _models_in(_plan_section(html, plan.tier)) for plan in plans}
    for tier, slugs in sections.items():
        assert len(slugs) == len(set(slugs)), f"a model is listed twice under {tier}"
    for model in CatalogModel.objects.select_related("min_plan"):
        expected = {plan.tier for plan in plans if plan.rank >= model.min_plan.rank}
        listed = {tier for tier, slugs in sections.items() if model.slug in slugs}
        assert listed == expected, model.slug
    assert {tier for tier, slugs in sections.items() if "openai/gpt-5.2-pro" in slugs} == {"max", "ultra"}
    assert {tier for tier, slugs in sections.items() if "openai/gpt-5-pro" in slugs} == {"max", "ultra"}
    assert {tier for tier, slugs in sections.items() if "deepseek/deepseek-chat" in slugs} == {
        "free",
        "pro",
        "max",
        "ultra",
    }
    assert {tier for tier, slugs in sections.items() if "anthropic/claude-sonnet-4.5" in slugs} == {
        "pro",
        "max",
        "ultra",
    }
    assert [len(sections[tier]) for tier in ("free", "pro", "max", "ultra")] == [12, 94, 96, 96]


def test_models_are_grouped_by_provider_within_each_plan(client):
    html = client.get("/pricing/").content.decode()
    section = _plan_section(html, "max")
    openai = re.search(r'data-provider="OpenAI">(.*?)</ul>', section, re.S).group(1)
    assert "openai/gpt-5.2-pro" in openai
    assert "openai/gpt-image-1.5" in openai
    assert "anthropic/" not in openai
    providers = re.findall(r'data-provider="([^"]+)"', section)
    assert len(providers) == len(set(providers))
    assert {"Anthropic", "OpenAI", "Google", "DeepSeek", "xAI", "Z.AI", "Qwen"} <= set(providers)


def test_coming_soon_models_carry_a_badge(client):
    html = client.get("/pricing/").content.decode()
    section = _plan_section(html, "pro")
    soon = re.findall(r'<li data-model="([^"]+)">((?:(?!</li>).)*?)data-testid="coming-soon"', section, re.S)
    assert {slug for slug, _ in soon} == {"openai/gpt-image-1.5", "tencent/hunyuan-image3"}
    CatalogModel.objects.filter(slug="deepseek/deepseek-chat").update(status=ModelStatus.COMING_SOON)
    html = client.get("/pricing/").content.decode()
    free = _plan_section(html, "free")
    assert free.count('data-testid="coming-soon"') == 1


def test_pricing_page_explains_limits_usage_rules_and_faq(client):
    html = client.get("/pricing/").content.decode()
    limits = re.search(r'data-testid="limits-table">(.*?)</table>', html, re.S).group(1)
    rpm = dict(re.findall(r'<tr data-tier="(\w+)">.*?data-col="rpm">(\d+)</td>', limits, re.S))
    assert rpm == {"free": "10", "pro": "15", "max": "15", "ultra": "15"}
    assert "Rolling 5-hour window" in html
    assert "Weekly window" in html
    assert "Monthly cap" in html
    assert "Production environments that are already live" in html
    assert "Personal development and learning" in html
    assert "What is the difference between a subscription and pay-as-you-go?" in html
    assert "When does the quota reset?" in html
    assert "Can I use multiple plans at the same time?" in html
    assert "10–15 RPM" in html
    assert "2.73–4.36x" in html


def test_chinese_pricing_page_uses_the_reference_terms(client):
    html = client.get("/zh-hans/pricing/").content.decode()
    for term in (
        "套餐",
        "5h 配额",
        "周最大 Flows",
        "使用限制说明",
        "常见问题",
        "即将上线",
        "已上线的生产环境",
    ):
        assert term in html, term
    assert "openai/gpt-5.2-pro" in _plan_section(html, "max")


def _ctas(html):
    found = re.findall(r'<a href="([^"]+)"\s+role="button"[^>]*data-plan-cta="(\w+)"', html)
    return {tier: href.replace("&amp;", "&") for href, tier in found}


def test_anonymous_visitors_sign_up_then_go_to_checkout(client):
    html = client.get("/pricing/").content.decode()
    signup = reverse("account_signup")
    assert _ctas(html) == {
        "free": signup,
        "pro": f"{signup}?next=%2Fconsole%2Fsubscription%2Fsubscribe%2F%3Fplan%3Dpro",
        "max": f"{signup}?next=%2Fconsole%2Fsubscription%2Fsubscribe%2F%3Fplan%3Dmax",
        "ultra": f"{signup}?next=%2Fconsole%2Fsubscription%2Fsubscribe%2F%3Fplan%3Dultra",
    }
    assert "Get Pro" in html and "Get Max" in html and "Get Ultra" in html


def test_signed_in_users_go_to_checkout_for_a_paid_plan(user_client):
    html = user_client.get("/pricing/").content.decode()
    subscribe = reverse("console:subscribe")
    assert _ctas(html) == {
        "free": reverse("console:subscription"),
        "pro": f"{subscribe}?plan=pro",
        "max": f"{subscribe}?plan=max",
        "ultra": f"{subscribe}?plan=ultra",
    }


def test_sign_up_from_a_plan_button_lands_on_its_checkout_confirmation(client):
    html = client.get("/pricing/").content.decode()
    response = client.post(
        _ctas(html)["max"],
        {
            "email": "buyer@example.com",
            "password1": "Flowport-pass-2026!",
            "password2": "Flowport-pass-2026!",
        },
    )
    assert response.status_code == 302
    assert response.url == "/console/subscription/subscribe/?plan=max"
    assert client.get(response.url).status_code == 200


def test_table_follows_the_current_flow_rate(client):
    FlowRate.objects.create(usd_per_flow=Decimal("0.03"), effective_from=timezone.now())
    FlowRate.objects.create(usd_per_flow=Decimal("0.05"), effective_from=timezone.now() + timedelta(days=1))
    html = client.get("/pricing/").content.decode()
    assert _table_values(html)["ultra"] == ("$1,036.80", "5.18x")
    assert "1 Flow ≈ $0.03000, about 33 Flows = $1" in html
