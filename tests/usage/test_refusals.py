"""Every refusal of the SPEC §7 table: exact status, type and message shape, and nothing changed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.models import AccountStatus
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import api_key_delete, api_key_set_status
from apps.core.models import AuditEvent
from apps.plans.models import CatalogModel, Plan
from apps.usage.exceptions import MeteringRefused
from apps.usage.models import QuotaWindow, QuotaWindowArchive, Reservation, UsageEvent
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import (
    authorize,
    cent_rate,
    gateway_client,
    make_plan,
    put_on_plan,
    usage,
)

pytestmark = pytest.mark.django_db


def state():
    """Everything a gateway call could change."""
    return {
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "windows": list(QuotaWindow.objects.order_by("pk").values()),
        "archives": list(QuotaWindowArchive.objects.order_by("pk").values()),
        "events": list(UsageEvent.objects.order_by("pk").values()),
        "keys": list(
            ApiKey.objects.order_by("pk").values(
                "pk", "used_flows", "used_usd", "request_count", "last_used_at"
            )
        ),
        "audit": AuditEvent.objects.filter(event_type__startswith="quota").count(),
    }


def assert_error(response, status, type_):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == str(status)
    assert body["error"]["type"] == type_
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def client():
    return gateway_client()


@pytest.fixture
def on_plan(user):
    cent_rate()
    return put_on_plan(user, make_plan())


def test_unknown_key(client, on_plan):
    before = state()
    unknown = "sk-ss-v1-" + "0" * 64
    assert_error(authorize(client, "r1", unknown), 403, "access_denied")
    assert_error(authorize(client, "r1", "not-a-key"), 403, "access_denied")
    assert state() == before


def test_disabled_and_deleted_keys(client, user, on_plan):
    key, secret = make_key(account=user)
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    before = state()
    error = assert_error(authorize(client, "r1", secret), 403, "access_denied")
    assert error["message"] == "This API key is disabled."
    assert state() == before
    other, other_secret = make_key(account=user, name="Other")
    api_key_delete(account=user, key_id=other.pk)
    before = state()
    error = assert_error(authorize(client, "r2", other_secret), 403, "access_denied")
    assert error["message"] == "This API key has been deleted."
    assert state() == before


def test_management_key(client, user, on_plan):
    _key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    before = state()
    error = assert_error(authorize(client, "r1", secret), 403, "access_denied")
    assert error["message"] == "A management key cannot be used for inference."
    assert state() == before


@pytest.mark.parametrize("status", [AccountStatus.SUSPENDED, AccountStatus.BANNED])
def test_blocked_account(client, user, on_plan, status):
    _key, secret = make_key(account=user)
    _pkey, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="P")
    type(user).objects.filter(pk=user.pk).update(status=status)
    before = state()
    assert_error(authorize(client, "r1", secret), 403, "access_denied")
    assert_error(authorize(client, "r2", payg_secret), 403, "access_denied")
    assert state() == before


def test_unknown_model(client, user, on_plan):
    _key, secret = make_key(account=user)
    before = state()
    error = assert_error(authorize(client, "r1", secret, model="acme/nope"), 404, "invalid_model")
    assert error["message"] == "Unknown model acme/nope."
    assert state() == before


def test_model_not_in_plan_suggests_payg(client, user):
    pro = Plan.objects.get(tier="pro")
    put_on_plan(user, pro)
    _key, secret = make_key(account=user)
    before = state()
    error = assert_error(
        authorize(client, "r1", secret, model="openai/gpt-5.2-pro"), 404, "model_not_available"
    )
    assert "pay-as-you-go key" in error["message"]
    assert state() == before
    # A Pro model is fine on Pro.
    assert authorize(client, "r2", secret, model="openai/gpt-5").status_code == 200


def test_rpm_exceeded_sets_retry_after(client, user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=2))
    _key, secret = make_key(account=user)
    assert authorize(client, "r1", secret).json()["data"]["rpm_remaining"] == 1
    assert authorize(client, "r2", secret).json()["data"]["rpm_remaining"] == 0
    before = state()
    response = authorize(client, "r3", secret)
    assert_error(response, 429, "rate_limit")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert state() == before


def test_rpm_halved_for_abusive_accounts(user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=5))
    type(user).objects.filter(pk=user.pk).update(status=AccountStatus.ABUSIVE)
    _key, secret = make_key(account=user)
    now = timezone.now()
    assert (
        meter_authorize(
            request_id="a1", api_key=secret, model="deepseek/deepseek-chat", now=now
        ).rpm_remaining
        == 1
    )
    meter_authorize(request_id="a2", api_key=secret, model="deepseek/deepseek-chat", now=now)
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(request_id="a3", api_key=secret, model="deepseek/deepseek-chat", now=now)
    assert refused.value.code == "rate_limit"
    assert refused.value.retry_after == 60
    # Sliding minute: the first slots free up 60 seconds after they were taken.
    later = now + timedelta(seconds=60)
    assert meter_authorize(
        request_id="a4", api_key=secret, model="deepseek/deepseek-chat", now=later
    ).decision


def test_windows_exhausted_reports_resets_at(client, user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="10", weekly="100", monthly="100"))
    _key, secret = make_key(account=user)
    assert authorize(client, "r1", secret, estimate="0.10").status_code == 200
    assert usage(client, "r1", cost="0.10").status_code == 200
    window = QuotaWindow.objects.get(account=user, kind="five_hour")
    before = state()
    error = assert_error(authorize(client, "r2", secret), 402, "quota_exceeded")
    assert error["resets_at"] == window.resets_at.isoformat().replace("+00:00", "Z")
    assert error["resets_at"].endswith("Z")
    assert state() == before


def test_payg_without_wallet_room(client, user, on_plan):
    _key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    before = state()
    assert_error(authorize(client, "r1", secret), 402, "insufficient_credit")
    assert state() == before


def test_usage_without_authorize(client, on_plan):
    before = state()
    error = assert_error(usage(client, "never"), 409, "not_authorized")
    assert "never" in error["message"]
    assert state() == before


def test_usage_after_release_is_refused(client, user, on_plan):
    _key, secret = make_key(account=user)
    authorize(client, "r1", secret)
    assert client.post("/api/v1/gateway/release", {"request_id": "r1"}, format="json").status_code == 200
    before = state()
    error = assert_error(usage(client, "r1"), 409, "not_authorized")
    assert "released" in error["message"]
    assert state() == before


def test_release_unknown_request(client, on_plan):
    assert_error(
        client.post("/api/v1/gateway/release", {"request_id": "zz"}, format="json"), 409, "not_authorized"
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("authorize", {"api_key": "k", "model": "m"}, "request_id"),
        ("authorize", {"request_id": 12, "api_key": "k", "model": "m"}, "request_id"),
        ("authorize", {"request_id": "x" * 129, "api_key": "k", "model": "m"}, "request_id"),
        ("authorize", {"request_id": "", "api_key": "k", "model": "m"}, "request_id"),
        ("authorize", {"request_id": "r", "model": "m"}, "api_key"),
        ("authorize", {"request_id": "r", "api_key": "k"}, "model"),
        (
            "authorize",
            {"request_id": "r", "api_key": "k", "model": "m", "estimated_cost_usd": "-1"},
            "estimated_cost_usd",
        ),
        (
            "authorize",
            {"request_id": "r", "api_key": "k", "model": "m", "estimated_cost_usd": "abc"},
            "estimated_cost_usd",
        ),
        (
            "authorize",
            {"request_id": "r", "api_key": "k", "model": "m", "estimated_cost_usd": "NaN"},
            "estimated_cost_usd",
        ),
        ("usage", {"input_tokens": 1}, "request_id"),
        ("usage", {"request_id": "r", "input_tokens": -1}, "input_tokens"),
        ("usage", {"request_id": "r", "input_tokens": "7"}, "input_tokens"),
        ("usage", {"request_id": "r", "output_tokens": 1.5}, "output_tokens"),
        ("usage", {"request_id": "r", "cost_usd": "-0.01"}, "cost_usd"),
        ("release", {}, "request_id"),
        ("release", {"request_id": ["a"]}, "request_id"),
    ],
)
def test_malformed_bodies_name_the_field(client, on_plan, path, body, field):
    before = state()
    error = assert_error(client.post(f"/api/v1/gateway/{path}", body, format="json"), 400, "invalid_params")
    assert error["message"].startswith(f"Invalid parameter {field}:")
    assert state() == before


def test_non_json_and_non_object_bodies(client, on_plan):
    response = client.post("/api/v1/gateway/authorize", "{not json", content_type="application/json")
    assert_error(response, 400, "invalid_params")
    response = client.post("/api/v1/gateway/authorize", [1, 2], format="json")
    assert_error(response, 400, "invalid_params")


@pytest.mark.parametrize("header", [None, "Bearer wrong", "test-gateway-token", "Basic test-gateway-token"])
def test_wrong_service_token(user, on_plan, header):
    _key, secret = make_key(account=user)
    from rest_framework.test import APIClient

    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    before = state()
    for path in ("authorize", "usage", "release"):
        body = {"request_id": "r1", "api_key": secret, "model": "deepseek/deepseek-chat"}
        assert_error(client.post(f"/api/v1/gateway/{path}", body, format="json"), 401, "unauthorized")
    assert state() == before


def test_trailing_slash_and_unknown_api_urls(client, user, on_plan):
    _key, secret = make_key(account=user)
    body = {"request_id": "s1", "api_key": secret, "model": "deepseek/deepseek-chat"}
    assert client.post("/api/v1/gateway/authorize/", body, format="json").status_code == 200
    assert_error(client.get("/api/v1/gateway/authorize"), 405, "method_not_allowed")
    assert_error(client.post("/api/v1/nothing-here", {}, format="json"), 404, "not_found")


def test_usage_refusal_from_service_is_typed(user, on_plan):
    with pytest.raises(MeteringRefused) as refused:
        meter_usage(request_id="nope", input_tokens=0, output_tokens=0, cost_usd=Decimal("0"))
    assert (refused.value.status, refused.value.code) == (409, "not_authorized")


def test_coming_soon_model_is_not_available(client, user, on_plan):
    CatalogModel.objects.filter(slug="openai/gpt-5").update(status="coming_soon")
    _key, secret = make_key(account=user)
    before = state()
    error = assert_error(authorize(client, "r1", secret, model="openai/gpt-5"), 404, "model_not_available")
    assert error["message"] == "Model openai/gpt-5 is coming soon and cannot be called yet."
    assert state() == before


def test_messages_follow_the_request_language(client, user, on_plan):
    _key, secret = make_key(account=user)
    response = client.post(
        "/api/v1/gateway/authorize",
        {"request_id": "zh", "api_key": secret, "model": "acme/nope"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.json()["error"]["message"] == "未知模型 acme/nope。"
