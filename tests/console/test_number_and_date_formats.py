"""Token counts carry thousands separators and the date fields keep their values, in English and Chinese."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.templatetags.flowport import count
from tests.api_keys.factories import make_key
from tests.usage.factories import UsageEventFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"), [(0, "0"), (999, "999"), (1000, "1,000"), (454145, "454,145"), (None, "—")]
)
def test_count_filter(value, expected):
    assert count(value) == expected


@pytest.fixture
def usage(user):
    key, _ = make_key(account=user, name="laptop")
    UsageEventFactory(
        request_id="big",
        account=user,
        api_key=key,
        input_tokens=400_000,
        output_tokens=54_145,
        cost_usd=Decimal("1.00"),
        flows=Decimal("4"),
        created_at=timezone.now() - timedelta(hours=1),
    )
    return key


@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_usage_page_tokens_have_separators(user_client, usage, prefix):
    html = user_client.get(f"{prefix}/console/usage/").content.decode()
    assert '<p class="figure" data-testid="total-tokens">454,145</p>' in html
    assert "454145" not in html and "400000" not in html


@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_key_detail_tokens_have_separators(user_client, usage, prefix):
    html = user_client.get(f"{prefix}/console/keys/{usage.pk}/").content.decode()
    assert '<td class="num">400,000</td>' in html and '<td class="num">54,145</td>' in html


@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_usage_date_fields_are_prefilled_with_iso_dates(user_client, prefix):
    today = timezone.now().date()
    html = user_client.get(f"{prefix}/console/usage/").content.decode()
    start = (today - timedelta(days=6)).isoformat()
    assert f'name="start" value="{start}"' in html
    assert f'name="end" value="{today.isoformat()}"' in html


def test_chosen_range_survives_a_chinese_page(user_client):
    html = user_client.get("/zh-hans/console/usage/?start=2026-11-01&end=2026-11-20").content.decode()
    assert 'name="start" value="2026-11-01"' in html and 'name="end" value="2026-11-20"' in html
