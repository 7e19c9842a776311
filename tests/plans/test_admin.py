"""Staff edit the Flow rate, plans and catalog in Django admin (SPEC §1, §2)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.plans.models import CatalogModel, FlowRate, Plan
from apps.plans.selectors import flow_rate_current

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:plans_flowrate_add")


@pytest.fixture
def seeded_rate_in_the_past():
    # Admin datetimes have second precision: move the seeded rate clearly into the past.
    FlowRate.objects.update(effective_from=timezone.now() - timedelta(days=1))


def _rate_form(rate: str, when=None, note="Market update"):
    when = when or timezone.now()
    return {
        "usd_per_flow": rate,
        "effective_from_0": when.strftime("%Y-%m-%d"),
        "effective_from_1": when.strftime("%H:%M:%S"),
        "note": note,
    }


def _row(html: str, tier: str) -> tuple[str, str]:
    row = re.search(rf'<tr data-tier="{tier}">(.*?)</tr>', html, re.S).group(1)
    usd = re.search(r'data-col="usd-value">\s*(.*?)\s*</td>', row, re.S).group(1)
    multiplier = re.search(r'data-col="multiplier">\s*(.*?)\s*</td>', row, re.S).group(1)
    return usd, multiplier


def test_adding_a_flow_rate_in_admin_changes_the_pricing_table(staff_client, seeded_rate_in_the_past):
    before = staff_client.get("/pricing/").content.decode()
    assert _row(before, "pro") == ("$54.55", "2.73x")

    response = staff_client.post(ADD_URL, _rate_form("0.03"))

    assert response.status_code == 302
    rate = FlowRate.objects.get(usd_per_flow=Decimal("0.03"))
    assert rate.created_by == staff_client.staff
    assert flow_rate_current() == Decimal("0.030000000000")
    event = AuditEvent.objects.get(event_type="flow_rate.created")
    assert event.actor == staff_client.staff
    assert event.subject_id == str(rate.pk)
    assert event.details["usd_per_flow"] == "0.030000000000"
    # 2,160 × 0.03 = 64.80 → 64.80 / 20 = 3.24; 12,960 × 0.03 = 388.80 → 3.888 → 3.89;
    # 34,560 × 0.03 = 1,036.80 → 5.184 → 5.18
    after = staff_client.get("/pricing/").content.decode()
    assert _row(after, "free") == ("—", "—")
    assert _row(after, "pro") == ("$64.80", "3.24x")
    assert _row(after, "max") == ("$388.80", "3.89x")
    assert _row(after, "ultra") == ("$1,036.80", "5.18x")
    zh = staff_client.get("/zh-hans/pricing/").content.decode()
    assert _row(zh, "pro") == ("$64.80", "3.24x")


@pytest.mark.parametrize("rate", ["0", "-0.02", "0.000000000000"])
def test_a_rate_of_zero_or_below_is_refused_with_a_field_error(staff_client, rate):
    rates_before = list(FlowRate.objects.values_list("pk", "usd_per_flow"))

    response = staff_client.post(ADD_URL, _rate_form(rate))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"usd_per_flow": ["The Flow rate must be greater than 0 USD per Flow."]}
    assert "The Flow rate must be greater than 0 USD per Flow." in response.content.decode()
    assert list(FlowRate.objects.values_list("pk", "usd_per_flow")) == rates_before
    assert not AuditEvent.objects.filter(event_type="flow_rate.created").exists()


def test_flow_rate_list_shows_which_rate_is_current(staff_client, seeded_rate_in_the_past):
    staff_client.post(ADD_URL, _rate_form("0.03"))
    FlowRate.objects.create(usd_per_flow=Decimal("0.04"), effective_from=timezone.now() + timedelta(days=3))

    response = staff_client.get(reverse("admin:plans_flowrate_changelist"))

    html = response.content.decode()
    states = dict(
        re.findall(
            r'<th class="field-usd_per_flow"><a [^>]*>([\d.]+)</a></th>.*?<td class="field-state">(\w+)</td>',
            html,
            re.S,
        )
    )
    assert states == {
        "0.040000000000": "Scheduled",
        "0.030000000000": "Current",
        "0.025252525253": "Superseded",
    }


def test_a_rate_in_effect_keeps_its_value_and_cannot_be_deleted(staff_client):
    rate = FlowRate.objects.get()
    response = staff_client.get(reverse("admin:plans_flowrate_change", args=[rate.pk]))
    assert response.status_code == 200
    assert "usd_per_flow" not in response.context["adminform"].form.fields
    response = staff_client.post(reverse("admin:plans_flowrate_delete", args=[rate.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert FlowRate.objects.filter(pk=rate.pk).exists()


def test_plan_and_catalog_admin_pages_render(staff_client):
    for name in ("plans_plan_changelist", "plans_catalogmodel_changelist", "plans_flowrate_changelist"):
        assert staff_client.get(reverse(f"admin:{name}")).status_code == 200
    response = staff_client.get(
        reverse("admin:plans_catalogmodel_changelist"),
        {"q": "gpt-5.2", "min_plan__id__exact": Plan.objects.get(tier="max").pk},
    )
    assert [m.slug for m in response.context["cl"].result_list] == ["openai/gpt-5.2-pro"]
    response = staff_client.get(reverse("admin:plans_plan_changelist"))
    html = response.content.decode()
    assert "$54.55" in html and "2.73x" in html


def test_catalog_admin_refuses_a_negative_price(staff_client):
    model = CatalogModel.objects.get(slug="openai/gpt-5")
    url = reverse("admin:plans_catalogmodel_change", args=[model.pk])
    data = {
        "slug": model.slug,
        "display_name": model.display_name,
        "provider": model.provider,
        "category": model.category,
        "sort_order": model.sort_order,
        "min_plan": model.min_plan_id,
        "status": model.status,
        "input_usd_per_mtok": "-1",
        "output_usd_per_mtok": "10",
        "usd_per_request": "",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "input_usd_per_mtok": ["This value cannot be negative."]
    }
    model.refresh_from_db()
    assert model.input_usd_per_mtok == Decimal("1.250000")

    data["input_usd_per_mtok"] = "1.1"
    data["display_name"] = "GPT-5 (2025)"
    assert staff_client.post(url, data).status_code == 302
    model.refresh_from_db()
    assert (model.display_name, model.input_usd_per_mtok) == ("GPT-5 (2025)", Decimal("1.100000"))


def test_plan_admin_refuses_zero_rpm(staff_client):
    pro = Plan.objects.get(tier="pro")
    url = reverse("admin:plans_plan_change", args=[pro.pk])
    data = {
        "name": "Pro",
        "tier": "pro",
        "rank": pro.rank,
        "tagline": "",
        "is_public": "on",
        "price_usd": "20",
        "quota_5h_flows": "50",
        "weekly_max_flows": "504",
        "monthly_max_flows": "2160",
        "rpm": "0",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"rpm": ["This value must be greater than 0."]}
    pro.refresh_from_db()
    assert pro.rpm == 15


def test_add_form_proposes_now_and_bulk_delete_is_not_offered(staff_client):
    response = staff_client.get(ADD_URL)
    assert response.status_code == 200
    initial = response.context["adminform"].form.initial["effective_from"]
    assert abs((timezone.now() - initial).total_seconds()) < 60
    changelist = staff_client.get(reverse("admin:plans_flowrate_changelist"))
    assert "delete_selected" not in changelist.content.decode()


def test_a_scheduled_rate_can_be_withdrawn(staff_client):
    later = FlowRate.objects.create(
        usd_per_flow=Decimal("0.04"), effective_from=timezone.now() + timedelta(days=3)
    )
    response = staff_client.post(reverse("admin:plans_flowrate_delete", args=[later.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not FlowRate.objects.filter(pk=later.pk).exists()


def test_moving_a_model_to_another_plan_from_the_catalog_list_updates_the_pricing_page(staff_client):
    model = CatalogModel.objects.get(slug="anthropic/claude-opus-4.6")
    max_plan = Plan.objects.get(tier="max")
    response = staff_client.post(
        reverse("admin:plans_catalogmodel_changelist") + "?q=claude-opus-4.6",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(model.pk),
            "form-0-min_plan": str(max_plan.pk),
            "form-0-status": "available",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.min_plan == max_plan
    html = staff_client.get("/pricing/").content.decode()
    sections = {
        tier: re.search(rf'data-plan="{tier}".*?</details>', html, re.S).group(0)
        for tier in ("free", "pro", "max", "ultra")
    }
    assert [
        tier for tier, section in sections.items() if 'data-model="anthropic/claude-opus-4.6"' in section
    ] == [
        "max",
        "ultra",
    ]
