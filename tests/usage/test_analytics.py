"""Usage analytics and the subscription page's numbers: DB aggregation, exact sums, bounded queries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.core.templatetags.flowport import flows as fmt_flows
from apps.core.templatetags.flowport import usd as fmt_usd
from apps.plans.models import CatalogModel
from apps.usage.analytics import usage_breakdown, usage_events_for_key
from apps.usage.models import UsageEvent
from apps.usage.selectors import quota_windows_for_account
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHAT, REASONER = "deepseek/deepseek-chat", "deepseek/deepseek-reasoner"


def call(secret, request_id, now, model=CHAT, cost="0.05"):
    meter_authorize(
        request_id=request_id, api_key=secret, model=model, estimated_cost_usd=Decimal("0.01"), now=now
    )
    return meter_usage(
        request_id=request_id, input_tokens=100, output_tokens=20, cost_usd=Decimal(cost), now=now
    )


@pytest.fixture
def traffic(user):
    """Subscription traffic over two days with two keys and two models, plus pay-as-you-go traffic."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="1000", weekly="5000", monthly="9000"), start=T0 - timedelta(days=1))
    laptop, laptop_secret = make_key(account=user, name="laptop")
    ci, ci_secret = make_key(account=user, name="ci")
    payg, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="app")
    from tests.wallet.factories import credit

    credit(user, "10.00")
    call(laptop_secret, "a1", T0, CHAT, "0.05")  # 5 Flows
    call(laptop_secret, "a2", T0 + timedelta(hours=1), REASONER, "0.12")  # 12 Flows
    call(ci_secret, "a3", T0 + timedelta(days=1), CHAT, "0.033")  # 3.3 Flows
    call(payg_secret, "p1", T0 + timedelta(days=1), CHAT, "0.20")  # wallet, not on the subscription side
    return {"laptop": laptop, "ci": ci, "payg": payg}


def test_breakdown_sums_equal_the_usage_events(user, traffic):
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=29)
    breakdown = usage_breakdown(account=user, start=start, end=end, subscription_side=True)
    assert [(r.label, r.flows, r.requests) for r in breakdown.by_model] == [
        (REASONER, Decimal("12"), 1),
        (CHAT, Decimal("8.3"), 2),
    ]
    assert [(r.group, r.flows, r.requests) for r in breakdown.by_key] == [
        (traffic["laptop"].pk, Decimal("17"), 2),
        (traffic["ci"].pk, Decimal("3.3"), 1),
    ]
    assert [(r.label, r.flows) for r in breakdown.by_day] == [
        ("2026-03-02", Decimal("17")),
        ("2026-03-03", Decimal("3.3")),
    ]
    events = UsageEvent.objects.filter(account=user, billed_to="subscription")
    total = events.aggregate(flows=Sum("flows"), n=Count("id"))
    for rows in (breakdown.by_model, breakdown.by_key, breakdown.by_day):
        assert sum(r.flows for r in rows) == total["flows"] == Decimal("20.3")
        assert sum(r.requests for r in rows) == total["n"] == 3
    assert breakdown.totals["flows"] == Decimal("20.3")
    assert breakdown.totals["payg_requests"] == 0  # pay-as-you-go keys are not on the subscription side
    # All sides: the pay-as-you-go request shows in its own column.
    everything = usage_breakdown(account=user, start=start, end=end)
    assert (everything.totals["requests"], everything.totals["payg_usd"]) == (4, Decimal("0.2"))
    assert everything.totals["subscription_usd"] == Decimal("0.203")


def test_breakdown_runs_a_fixed_number_of_queries(user, traffic):
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=29)
    with CaptureQueriesContext(connection) as few:
        usage_breakdown(account=user, start=start, end=end, subscription_side=True)
    model = CatalogModel.objects.get(slug=CHAT)
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"bulk{i}",
            account=user,
            api_key=traffic["laptop" if i % 2 else "ci"],
            model=model,
            cost_usd=Decimal("0.01"),
            flows=Decimal("1"),
            billed_to="subscription",
            created_at=T0 + timedelta(hours=i),
        )
        for i in range(300)
    )
    with CaptureQueriesContext(connection) as many:
        breakdown = usage_breakdown(account=user, start=start, end=end, subscription_side=True)
    assert len(many) == len(few) == 3
    assert breakdown.totals["flows"] == Decimal("320.3")


def test_subscription_page_cards_equal_the_selector_and_queries_are_bounded(
    user, user_client, django_assert_max_num_queries
):
    cent_rate()
    now = timezone.now()
    put_on_plan(user, make_plan(q5h="10", weekly="30", monthly="50"), start=now - timedelta(days=2))
    key, secret = make_key(account=user, name="laptop")
    call(secret, "c1", now - timedelta(minutes=10), CHAT, "0.05")
    call(secret, "c2", now - timedelta(minutes=5), REASONER, "0.021")
    response = user_client.get("/console/subscription/")
    assert response.status_code == 200
    expected = quota_windows_for_account(account=user, now=timezone.now())
    cards = {card["kind"]: card["view"] for card in response.context["quota_cards"]}
    assert cards == expected
    html = response.content.decode()
    five = expected["five_hour"]
    assert (five.used_flows, five.max_flows, five.remaining_flows) == (
        Decimal("7.1"),
        Decimal("10"),
        Decimal("2.9"),
    )
    assert five.usage_percentage == Decimal("0.71")
    assert 'data-testid="quota-five_hour"' in html
    assert f'<span data-testid="used">{fmt_flows(five.used_flows)}</span>' in html
    assert "71%" in html and "2.9 Flows" in html
    assert f'data-resets-at="{five.resets_at.isoformat()}"' in html
    monthly = expected["monthly"]
    assert monthly.max_value_usd == Decimal("0.50")
    assert f"50 Flows ≈ {fmt_usd(monthly.max_value_usd)} at your rate" in html
    assert "<svg" in html and 'data-testid="breakdown-by-model"' in html

    # Many more events: the page's query count does not grow.
    model = CatalogModel.objects.get(slug=CHAT)
    with CaptureQueriesContext(connection) as few:
        user_client.get("/console/subscription/")
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"bulk{i}",
            account=user,
            api_key=key,
            model=model,
            flows=Decimal("0.01"),
            cost_usd=Decimal("0.0001"),
            billed_to="subscription",
            created_at=now - timedelta(minutes=i % 600),
        )
        for i in range(400)
    )
    with django_assert_max_num_queries(len(few)):
        response = user_client.get("/console/subscription/")
    assert response.status_code == 200


def test_idle_windows_say_they_begin_with_the_next_request(user, user_client):
    response = user_client.get("/console/subscription/")
    html = response.content.decode()
    assert html.count('data-testid="idle"') == 2  # five-hour and weekly; the monthly cap follows the cycle
    assert "Not started — begins with your next request." in html


def test_key_usage_records_include_extra_usage_billed_through_a_payg_key(user, traffic):
    records = usage_events_for_key(key=traffic["payg"])
    assert [e.request_id for e in records] == ["p1"]
    assert [e.request_id for e in usage_events_for_key(key=traffic["laptop"])] == ["a2", "a1"]
    assert [e.request_id for e in usage_events_for_key(key=traffic["laptop"], model_slug=CHAT)] == ["a1"]
