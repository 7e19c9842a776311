"""Issue 13, gateway side: bounded costs and token counts, bounded bodies, replays that must match, and
one key-usability rule. Each refusal is the SPEC §7 body and changes nothing."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import AccountStatus
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus, api_key_unusable_reason
from apps.plans.models import CatalogModel
from apps.usage.models import QuotaWindow, Reservation, ReservationStatus, UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, usage
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db
MODEL = "deepseek/deepseek-chat"


def state():
    return {
        "wallets": list(Wallet.objects.order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "events": list(UsageEvent.objects.order_by("pk").values()),
        "windows": list(QuotaWindow.objects.order_by("pk").values()),
        "keys": list(ApiKey.objects.order_by("pk").values("pk", "used_flows", "used_usd", "request_count")),
    }


def assert_error(response, status, type_, *, mentions=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert (body["error"]["code"], body["error"]["type"]) == (str(status), type_)
    if mentions:
        assert mentions in body["error"]["message"]
    return body["error"]


@pytest.fixture
def client():
    return gateway_client()


@pytest.fixture
def payg(user):
    credit(user, "50.00")
    return make_key(account=user, kind=ApiKeyKind.PAYG)


# --- 1. Costs and token counts are bounded before anything is written ------------------------------------


def test_huge_token_counts_are_refused_naming_the_field(user, payg, client):
    """Before: 2**62 tokens at list prices made a $1.29-trillion cost that overflowed the columns (500)."""
    _key, secret = payg
    assert authorize(client, "big", secret, model=MODEL, estimate="0.10").status_code == 200
    before = state()
    for field in ("input_tokens", "output_tokens"):
        tokens = {"input_tokens": 10, "output_tokens": 10, field: 2**62}
        response = usage(client, "big", cost=None, **tokens)
        assert_error(response, 400, "invalid_params", mentions=field)
    assert state() == before
    assert Reservation.objects.get(request_id="big").status == ReservationStatus.ACTIVE


def test_a_cost_computed_from_list_prices_is_bounded(user, payg, client):
    """Token counts in range whose list-price cost exceeds $1,000,000 per request: 400, nothing billed."""
    CatalogModel.objects.filter(slug=MODEL).update(
        input_usd_per_mtok=Decimal("10"), output_usd_per_mtok=Decimal("10"), usd_per_request=None
    )
    _key, secret = payg
    authorize(client, "pricey", secret, model=MODEL, estimate="0.10")
    authorize(client, "pricier", secret, model=MODEL, estimate="0.10")
    before = state()
    response = usage(client, "pricier", cost=None, input_tokens=10**11, output_tokens=1)  # $1,000,000.00001
    assert_error(response, 400, "invalid_params", mentions="input_tokens")
    assert state() == before
    response = usage(client, "pricey", cost=None, input_tokens=10**11, output_tokens=0)  # $1,000,000 is ok
    assert response.status_code == 200, response.content
    assert response.json()["data"]["cost_usd"] == "1000000.000000"
    assert Wallet.objects.get(account=user).arrears == Decimal("999950.000000")


def test_explicit_costs_and_estimates_are_bounded(user, payg, client):
    _key, secret = payg
    before = state()
    error = assert_error(authorize(client, "e1", secret, estimate="1000000.000001"), 400, "invalid_params")
    assert "estimated_cost_usd" in error["message"]
    assert state() == before
    authorize(client, "e2", secret, estimate="0.10")
    before = state()
    for cost in ("1000000.01", "1e30", "NaN", "-0.01", "Infinity"):
        assert_error(usage(client, "e2", cost=cost), 400, "invalid_params", mentions="cost_usd")
    assert state() == before


def test_flows_of_an_extreme_multiplier_are_bounded(user, client):
    """A tiny flow value multiplier turns $1,000,000 into more Flows than the columns hold: refused."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="9e9", weekly="9e9", monthly="9e9"))
    type(user).objects.filter(pk=user.pk).update(flow_value_multiplier=Decimal("0.0001"))
    _key, secret = make_key(account=user)
    before = state()
    error = assert_error(authorize(client, "f1", secret, estimate="1000000"), 400, "invalid_params")
    assert "estimated_cost_usd" in error["message"]
    assert state() == before
    assert authorize(client, "f2", secret, estimate="0.01").status_code == 200
    before = state()
    assert_error(usage(client, "f2", cost="1000000"), 400, "invalid_params", mentions="cost_usd")
    assert state() == before


# --- 3. Bodies: size, nesting, strict JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # before: RecursionError → 500
        '{"request_id": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"request_id": "x", "pad": "' + "a" * 70_000 + '"}',  # over the 64 KiB limit
        '{"request_id": "x", "estimated_cost_usd": NaN}',
        '["request_id"]',
        '"just a string"',
        "{not json",
        '{"request_id": "\\ud800"}',
    ],
    ids=["deep-array", "deep-field", "too-large", "nan", "list", "string", "broken", "surrogate"],
)
@pytest.mark.parametrize("endpoint", ["authorize", "usage", "release"])
def test_malformed_bodies_are_400_invalid_params(user, client, endpoint, body):
    before = state()
    response = client.post(f"/api/v1/gateway/{endpoint}", body, content_type="application/json")
    assert_error(response, 400, "invalid_params")
    assert state() == before


def test_strings_that_look_like_brackets_do_not_count_as_nesting(user, payg, client):
    _key, secret = payg
    body = json.dumps(
        {
            "request_id": '[[[[[[[[[[{{{{{{{{{{\\"',
            "api_key": secret,
            "model": MODEL,
            "estimated_cost_usd": "0.1",
        }
    )
    response = client.post("/api/v1/gateway/authorize", body, content_type="application/json")
    assert response.status_code == 200, response.content


# --- 5. A known request_id is a replay only when the call is the same -------------------------------------


def test_request_id_reused_with_another_key_is_a_conflict(user, client):
    """Before: key B got account A's decision for A's request_id, and the next usage billed A."""
    cent_rate()
    put_on_plan(user, make_plan())
    _key_a, secret_a = make_key(account=user)
    other = UserFactory()
    put_on_plan(other, make_plan(tier="other", rank=11))
    _key_b, secret_b = make_key(account=other)
    first = authorize(client, "shared", secret_a, estimate="0.05")
    assert first.status_code == 200
    before = state()
    error = assert_error(authorize(client, "shared", secret_b, estimate="0.05"), 409, "request_conflict")
    assert "shared" in error["message"]
    # Same key, another model: a different call too.
    assert_error(
        authorize(client, "shared", secret_a, model="openai/gpt-5", estimate="0.05"), 409, "request_conflict"
    )
    # An unusable secret for that request_id is a conflict as well (it is not the key that authorized).
    assert_error(authorize(client, "shared", "sk-ss-v1-" + "0" * 64), 409, "request_conflict")
    assert state() == before
    # The identical call is still a replay.
    assert authorize(client, "shared", secret_a, estimate="0.05").json() == first.json()
    assert state() == before


def test_request_conflict_through_the_service_with_a_key_record(user):
    from apps.usage.exceptions import MeteringRefused
    from apps.usage.services import meter_authorize

    cent_rate()
    put_on_plan(user, make_plan())
    key_a, _ = make_key(account=user, name="A")
    key_b, _ = make_key(account=user, name="B")
    meter_authorize(request_id="svc", api_key=key_a, model=MODEL)
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(request_id="svc", api_key=key_b, model=MODEL)
    assert (refused.value.status, refused.value.code) == (409, "request_conflict")
    assert meter_authorize(request_id="svc", api_key=key_a, model=MODEL).replayed is True


# --- 6. One rule for "may this key be used" ---------------------------------------------------------------


def test_a_deactivated_account_is_refused_by_the_gateway_and_the_management_api(user, payg, client):
    """Before: staff turning `is_active` off stopped the management API but not the gateway."""
    _key, secret = payg
    cent_rate()
    _sub_key, sub_secret = make_key(account=user)
    _mg_key, mg_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    before = state()
    for presented in (secret, sub_secret):
        error = assert_error(authorize(client, f"d-{presented[:9]}", presented), 403, "access_denied")
        assert error["message"] == "This account is deactivated."
    assert state() == before
    response = APIClient().get("/api/v1/management/payg/balance", HTTP_AUTHORIZATION=f"Bearer {mg_secret}")
    assert_error(response, 403, "access_denied")


@pytest.mark.parametrize("is_active", [True, False])
@pytest.mark.parametrize("status", list(AccountStatus.values))
@pytest.mark.parametrize("key_status", list(ApiKeyStatus.values))
@pytest.mark.parametrize("deleted", [False, True])
def test_the_query_and_the_record_forms_of_the_rule_agree(user, is_active, status, key_status, deleted):
    from django.utils import timezone

    key, _secret = make_key(account=user)
    ApiKey.objects.filter(pk=key.pk).update(status=key_status, deleted_at=timezone.now() if deleted else None)
    type(user).objects.filter(pk=user.pk).update(is_active=is_active, status=status)
    key = ApiKey.objects.select_related("account").get(pk=key.pk)
    expected = (
        is_active
        and status not in (AccountStatus.SUSPENDED, AccountStatus.BANNED)
        and key_status == ApiKeyStatus.ENABLED
        and not deleted
    )
    assert key.is_usable is expected
    assert (api_key_unusable_reason(key) is None) is expected
    assert ApiKey.objects.usable().filter(pk=key.pk).exists() is expected


def test_console_extra_usage_offers_only_usable_keys(user):
    from apps.extra_usage.selectors import extra_usage_selectable_keys

    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    assert list(extra_usage_selectable_keys(account=user)) == [key]
    type(user).objects.filter(pk=user.pk).update(status=AccountStatus.SUSPENDED)
    assert list(extra_usage_selectable_keys(account=user)) == []
