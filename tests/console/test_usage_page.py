"""/console/usage/: analytics over a range, split by subscription, pay-as-you-go and Extra Usage."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.plans.models import CatalogModel
from apps.usage.models import UsageEvent
from tests.api_keys.factories import make_key
from tests.usage.factories import UsageEventFactory

pytestmark = pytest.mark.django_db


def event(
    user,
    key,
    request_id,
    *,
    when,
    billed_to="subscription",
    extra=False,
    billed_key=None,
    cost="0.10",
    flows="4",
):
    return UsageEventFactory(
        request_id=request_id,
        account=user,
        api_key=key,
        billed_key=billed_key,
        input_tokens=1000,
        output_tokens=200,
        cost_usd=Decimal(cost),
        flows=Decimal(flows) if billed_to == "subscription" else Decimal("0"),
        billed_to=billed_to,
        extra_usage=extra,
        created_at=when,
    )


def test_usage_page_shows_the_last_seven_days_split_by_who_paid(user, user_client):
    assert reverse("console:usage") == "/console/usage/"
    now = timezone.now()
    sub, _ = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="app")
    event(user, sub, "s1", when=now - timedelta(days=1))
    event(user, payg, "p1", when=now - timedelta(days=2), billed_to="payg", cost="0.25")
    event(user, sub, "x1", when=now, billed_to="payg", extra=True, billed_key=payg, cost="0.40")
    event(user, sub, "old", when=now - timedelta(days=30))  # outside the default range
    response = user_client.get("/console/usage/")
    assert response.status_code == 200
    totals = response.context["breakdown"].totals
    assert (totals["requests"], totals["flows"], totals["payg_usd"], totals["extra_usd"]) == (
        3,
        Decimal("4"),
        Decimal("0.25"),
        Decimal("0.40"),
    )
    assert (totals["input_tokens"], totals["output_tokens"]) == (3000, 600)
    assert len(response.context["breakdown"].by_day) == 7
    html = response.content.decode()
    assert '<p class="figure" data-testid="total-requests">3</p>' in html
    assert '<p class="figure" data-testid="total-extra">$0.40</p>' in html
    assert html.count("<svg") == 5  # the stacked daily chart + 2 by model + 2 by key
    # The console nav shows the page.
    assert 'href="/console/usage/"' in html


def test_usage_page_range_and_bad_input(user, user_client):
    sub, _ = make_key(account=user, name="laptop")
    now = timezone.now()
    event(user, sub, "old", when=now - timedelta(days=30))
    day = (now - timedelta(days=30)).date().isoformat()
    response = user_client.get(f"/console/usage/?start={day}&end={day}")
    assert response.context["breakdown"].totals["requests"] == 1
    bad = user_client.get("/console/usage/?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 200
    assert "The start date must be on or before the end date." in bad.content.decode()
    assert bad.context["breakdown"] is None
    assert user_client.get("/console/usage/?start=nonsense").status_code == 200


def test_usage_page_queries_do_not_grow_with_events(user, user_client):
    sub, _ = make_key(account=user, name="laptop")
    now = timezone.now()
    event(user, sub, "first", when=now)
    with CaptureQueriesContext(connection) as few:
        user_client.get("/console/usage/")
    model = CatalogModel.objects.get(slug="deepseek/deepseek-chat")
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"b{i}",
            account=user,
            api_key=sub,
            model=model,
            flows=Decimal("1"),
            cost_usd=Decimal("0.01"),
            billed_to="subscription",
            created_at=now - timedelta(hours=i % 100),  # inside the default 7 UTC days at any time of day
        )
        for i in range(300)
    )
    with CaptureQueriesContext(connection) as many:
        response = user_client.get("/console/usage/")
    assert len(many) == len(few)
    assert response.context["breakdown"].totals["requests"] == 301
