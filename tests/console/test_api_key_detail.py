"""The key details page: usage records, pagination, filters, bounded queries, 404 for others' keys."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api_keys.models import ApiKeyKind
from apps.plans.models import CatalogModel
from apps.usage.models import UsageEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def events(user, key, n, *, model="deepseek/deepseek-chat", start=T0, billed_key=None, prefix="e"):
    catalog = CatalogModel.objects.get(slug=model)
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"{prefix}{i}",
            account=user,
            api_key=key,
            billed_key=billed_key,
            model=catalog,
            input_tokens=100 + i,
            output_tokens=10,
            flows=Decimal("0") if billed_key else Decimal("1.5"),
            cost_usd=Decimal("0.0123"),
            billed_to="payg" if billed_key else "subscription",
            extra_usage=billed_key is not None,
            created_at=start + timedelta(hours=i),
        )
        for i in range(n)
    )


def test_keys_tables_link_to_the_details_page(user, user_client):
    key, _ = make_key(account=user, name="laptop")
    html = user_client.get("/console/subscription/").content.decode()
    assert f'href="/console/keys/{key.pk}/"' in html


def test_records_are_paginated_and_queries_bounded(user, user_client):
    key, _ = make_key(account=user, name="laptop")
    events(user, key, 3)
    with CaptureQueriesContext(connection) as few:
        response = user_client.get(f"/console/keys/{key.pk}/")
    assert response.content.decode().count("data-request=") == 3
    events(user, key, 60, start=T0 + timedelta(days=10), prefix="m")
    with CaptureQueriesContext(connection) as many:
        response = user_client.get(f"/console/keys/{key.pk}/")
    assert len(many) == len(few)
    html = response.content.decode()
    assert html.count("data-request=") == 25
    assert "Page 1 of 3" in html
    last = user_client.get(f"/console/keys/{key.pk}/?page=3").content.decode()
    assert last.count("data-request=") == 13


def test_filters_by_date_range_and_model(user, user_client):
    key, _ = make_key(account=user, name="laptop")
    events(user, key, 5)  # 2026-03-02 09:00 .. 13:00
    events(user, key, 2, model="deepseek/deepseek-reasoner", start=T0 + timedelta(days=1), prefix="r")
    response = user_client.get(f"/console/keys/{key.pk}/?start=2026-03-03&end=2026-03-03")
    assert response.content.decode().count("data-request=") == 2
    response = user_client.get(f"/console/keys/{key.pk}/?model=deepseek/deepseek-chat")
    assert response.content.decode().count("data-request=") == 5
    response = user_client.get(
        f"/console/keys/{key.pk}/?start=2026-03-02&end=2026-03-02&model=deepseek/deepseek-reasoner"
    )
    assert 'data-testid="no-records"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-03-05&end=2026-03-01", "The start date must be on or before the end date."),
        ("start=yesterday", "Enter a valid date."),
        ("model=nope/none", "Unknown model."),
        ("start=2020-01-01&end=2026-01-01", "Choose a range of at most 366 days."),
    ],
)
def test_bad_filters_show_a_clear_error(user, user_client, query, message):
    key, _ = make_key(account=user, name="laptop")
    response = user_client.get(f"/console/keys/{key.pk}/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and 'data-testid="filter-errors"' in html


def test_payg_key_shows_extra_usage_billed_through_it(user, user_client):
    sub, _ = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    events(user, sub, 2, billed_key=payg, prefix="x")
    html = user_client.get(f"/console/keys/{payg.pk}/").content.decode()
    assert html.count('data-testid="extra-usage-flag"') == 2
    assert "$0.012300" in html


def test_another_accounts_key_is_404(user_client):
    other, _ = make_key(account=UserFactory(), name="theirs")
    assert user_client.get(f"/console/keys/{other.pk}/").status_code == 404
    assert user_client.get("/console/keys/999999/").status_code == 404
