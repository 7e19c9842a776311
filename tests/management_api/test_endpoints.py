"""flow_rate, payg/balance, generation and statistics/timeseries: exact values and the key's counters."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.plans.services import flow_rate_create
from apps.wallet.models import GrantSource
from apps.wallet.selectors import wallet_balances
from apps.wallet.services import wallet_credit, wallet_debit
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.management_api.factories import get, iso, management_client, metered, on_plan

pytestmark = pytest.mark.django_db

D = Decimal


def data_of(response) -> dict:
    assert response.status_code == 200, response.content
    body = json.loads(response.content, parse_float=Decimal)
    assert body["success"] is True
    return body["data"]


def test_flow_rate_reflects_a_new_flow_rate_row(user):
    client, _key = management_client(user)
    assert data_of(get(client, "flow_rate")) == {
        "currency": "usd",
        "base_usd_per_flow": D("0.025252525253"),
        "effective_usd_per_flow": D("0.025252525253"),
    }
    flow_rate_create(usd_per_flow=Decimal("0.03"))
    user.flow_value_multiplier = Decimal("1.25")  # an insider's Flows are worth more
    user.save(update_fields=["flow_value_multiplier"])
    assert data_of(get(client, "flow_rate")) == {
        "currency": "usd",
        "base_usd_per_flow": D("0.03"),
        "effective_usd_per_flow": D("0.0375"),
    }


def test_payg_balance_equals_the_wallet_buckets(user):
    client, _key = management_client(user)
    assert data_of(get(client, "payg/balance")) == {
        "currency": "usd",
        "total_credits": D("0"),
        "top_up_credits": D("0"),
        "bonus_credits": D("0"),
    }
    wallet_credit(
        account=user, amount=D("100"), source_type=GrantSource.TOP_UP, idempotency_key="t1", description=""
    )
    wallet_credit(
        account=user, amount=D("20"), source_type=GrantSource.BONUS, idempotency_key="b1", description=""
    )
    wallet_debit(account=user, amount=D("25.123456"), idempotency_key="u1")  # bonus first, then top-up
    balances = wallet_balances(account=user)
    assert (balances.top_up, balances.bonus) == (D("94.876544"), D("0"))
    assert data_of(get(client, "payg/balance")) == {
        "currency": "usd",
        "total_credits": D("94.876544"),
        "top_up_credits": D("94.876544"),
        "bonus_credits": D("0.0"),
    }


def test_payg_balance_total_subtracts_arrears(user):
    client, _key = management_client(user)
    wallet_credit(
        account=user, amount=D("5"), source_type=GrantSource.TOP_UP, idempotency_key="t1", description=""
    )
    wallet_debit(account=user, amount=D("7.5"), idempotency_key="u1")
    data = data_of(get(client, "payg/balance"))
    assert (data["total_credits"], data["top_up_credits"], data["bonus_credits"]) == (
        D("-2.5"),
        D("0"),
        D("0"),
    )


def test_generation_returns_one_request_of_this_account(user):
    on_plan(user, "pro", start=timezone.now() - timedelta(days=1))
    key, secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    at = timezone.now() - timedelta(minutes=3)
    metered(secret, cost="0.50", at=at, request_id="gen_abc", input_tokens=1200, output_tokens=345)
    client, _mkey = management_client(user)
    assert data_of(get(client, "generation", id="gen_abc")) == {
        "id": "gen_abc",
        "model": "deepseek/deepseek-chat",
        "created": iso(at),
        "input_tokens": 1200,
        "output_tokens": 345,
        "cost_usd": D("0.5"),
        "flows": D("19.8"),
        "billed_to": "subscription",
        "extra_usage": False,
        "api_key_id": key.pk,
    }


def test_generation_billed_to_the_wallet(user):
    wallet_credit(
        account=user, amount=D("10"), source_type=GrantSource.TOP_UP, idempotency_key="t1", description=""
    )
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    metered(secret, cost="0.000420", request_id="gen_payg", input_tokens=10, output_tokens=20)
    client, _mkey = management_client(user)
    data = data_of(get(client, "generation", id="gen_payg"))
    assert (data["billed_to"], data["extra_usage"], data["cost_usd"], data["flows"], data["api_key_id"]) == (
        "payg",
        False,
        D("0.00042"),
        D("0"),
        key.pk,
    )
    assert data_of(get(client, "payg/balance"))["total_credits"] == D("9.99958")


def test_every_served_request_counts_on_the_management_key(user):
    client, key = management_client(user)
    for path in ("flow_rate", "payg/balance", "subscription/detail"):
        assert get(client, path).status_code == 200
    assert get(client, "generation").status_code == 400  # served (an error), still a request
    key = ApiKey.objects.get(pk=key.pk)
    assert key.request_count == 4
    assert key.last_used_at is not None


def test_browsers_get_json_too(user):
    client, _key = management_client(user)
    response = client.get(
        "/api/v1/management/flow_rate", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"
    )
    assert response["Content-Type"] == "application/json"
    assert response.json()["success"] is True


def test_trailing_slash_works_too(user):
    client, _key = management_client(user)
    assert client.get("/api/v1/management/flow_rate/").status_code == 200


# --- statistics/timeseries -----------------------------------------------------------------------------

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # an ISO week starts on a Monday


@pytest.fixture
def usage_history(user):
    """Requests of three models over a week, plus another account's request that must not count."""
    Subscription = on_plan(user, "ultra", start=MONDAY - timedelta(days=3), days=40)  # noqa: N806
    assert Subscription.plan.tier == "ultra"
    _key, secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    a, b, c = "deepseek/deepseek-chat", "anthropic/claude-sonnet-4.5", "openai/gpt-5"
    metered(secret, cost="0.10", at=MONDAY + timedelta(hours=1), model=a, input_tokens=100, output_tokens=10)
    metered(secret, cost="0.20", at=MONDAY + timedelta(hours=23), model=a, input_tokens=200, output_tokens=20)
    metered(
        secret,
        cost="1.000001",
        at=MONDAY + timedelta(days=2, hours=5),
        model=b,
        input_tokens=50,
        output_tokens=5,
    )
    metered(
        secret, cost="0.30", at=MONDAY + timedelta(days=7, hours=1), model=c, input_tokens=10, output_tokens=1
    )
    other = UserFactory()
    on_plan(other, "ultra", start=MONDAY - timedelta(days=3), days=40)
    _okey, other_secret = make_key(account=other, kind=ApiKeyKind.SUBSCRIPTION)
    metered(
        other_secret, cost="5", at=MONDAY + timedelta(hours=2), model=a, input_tokens=9999, output_tokens=9999
    )
    return a, b, c


def test_timeseries_tokens_per_day_with_empty_buckets(user, usage_history, django_assert_max_num_queries):
    a, b, c = usage_history
    client, _key = management_client(user)
    params = {
        "metric": "tokens",
        "bucket_width": "1d",
        "starting_at": "2026-11-02",
        "ending_at": "2026-11-06T12:00:00Z",
    }
    response = get(client, "statistics/timeseries", **params)
    assert b'"total":330,"values":[330,0,0,0,0]' in response.content  # token counts are integers
    data = data_of(response)
    assert data["metric"] == "tokens"
    assert data["unit"] == "tokens"
    assert data["bucket_width"] == "1d"
    assert (data["starting_at"], data["ending_at"]) == ("2026-11-02T00:00:00Z", "2026-11-06T12:00:00Z")
    assert data["buckets"] == [f"2026-11-0{day}T00:00:00Z" for day in range(2, 7)]
    assert data["series"] == [
        {"model": a, "total": 330, "values": [330, 0, 0, 0, 0]},
        {"model": b, "total": 55, "values": [0, 0, 55, 0, 0]},
    ]


def test_timeseries_cost_per_iso_week_top_limit_and_others(user, usage_history):
    a, b, c = usage_history
    client, _key = management_client(user)
    params = {
        "metric": "cost",
        "bucket_width": "1w",
        "starting_at": "2026-11-04T00:00:00Z",  # a Wednesday: its bucket is the week of Monday 2 Nov
        "ending_at": "2026-11-16T00:00:00Z",
        "limit": "1",
    }
    data = data_of(get(client, "statistics/timeseries", **params))
    assert data["unit"] == "usd"
    assert data["buckets"] == ["2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"]
    # Only requests inside [starting_at, ending_at) count: model a's Monday requests are before it.
    assert data["series"] == [
        {"model": b, "total": D("1.000001"), "values": [D("1.000001"), D("0")]},
        {"model": "__others__", "total": D("0.3"), "values": [D("0"), D("0.3")]},
    ]


def test_timeseries_aggregates_in_one_query(user, usage_history, django_assert_num_queries):
    client, _key = management_client(user)
    from apps.management_api.selectors import usage_timeseries

    with django_assert_num_queries(1):
        series = usage_timeseries(
            account=user,
            metric="tokens",
            bucket_width="1d",
            starting_at=MONDAY,
            ending_at=MONDAY + timedelta(days=14),
            limit=10,
        )
    assert len(series.buckets) == 14
    assert [s.total for s in series.series] == [330, 55, 11]


def test_timeseries_defaults_cover_the_last_30_days(user):
    client, _key = management_client(user)
    data = data_of(get(client, "statistics/timeseries"))
    assert (data["metric"], data["bucket_width"], data["series"]) == ("tokens", "1d", [])
    assert len(data["buckets"]) == 31
    assert all(value.endswith("T00:00:00Z") for value in data["buckets"])
