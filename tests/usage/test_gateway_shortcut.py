"""The gateway's metering calls skip the browser middleware (apps/usage/middleware.py) and still keep every
promise of the API: the service token, bounded bodies, the SPEC §7 error bodies, the 503 on a database
error, messages in the caller's language."""

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings
from rest_framework.test import APIClient

from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage

pytestmark = pytest.mark.django_db
SEEN: list[str] = []


class RecordingMiddleware:
    """Stands for the browser middleware: it notes every request that reaches it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SEEN.append(request.path)
        return self.get_response(request)


@pytest.fixture
def recorded():
    SEEN.clear()
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.RecordingMiddleware"]):
        yield SEEN


@pytest.fixture
def secret(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="100", weekly="300", monthly="500"))
    return make_key(account=user)[1]


def state():
    return (
        list(Reservation.objects.values()),
        list(UsageEvent.objects.values()),
        list(QuotaWindow.objects.order_by("pk").values()),
    )


def assert_error(response, status, type_, message):
    assert response.status_code == status, response.content
    assert response.json() == {
        "success": False,
        "error": {"code": str(status), "type": type_, "message": message},
    }


def test_metering_calls_skip_the_browser_middleware_and_other_urls_do_not(recorded, secret):
    client = gateway_client()

    authorized = authorize(client, "r1", secret, estimate="0.05")
    settled = usage(client, "r1", cost="0.04")
    released = release(client, "r1")
    schema = client.get("/api/v1/gateway/schema")
    unknown = client.post("/api/v1/gateway/nope", {}, format="json")

    assert [authorized.status_code, settled.status_code, released.status_code] == [200, 200, 200]
    assert settled.json()["data"]["flows"] == "4.000000"
    assert schema.status_code == 200
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"
    assert recorded == ["/api/v1/gateway/schema", "/api/v1/gateway/nope"]


def test_a_shortcut_answer_carries_what_the_skipped_middleware_would_have_added(secret):
    response = gateway_client().post(
        "/api/v1/gateway/authorize",
        {"request_id": "r1", "api_key": secret, "model": "deepseek/deepseek-chat"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["Content-Language"] == "zh-hans"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware stays in front
    assert not response.cookies


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic test-gateway-token"])
def test_a_missing_or_wrong_service_token_is_refused_with_the_spec_body(recorded, secret, header):
    before = state()
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post(
        "/api/v1/gateway/authorize",
        {"request_id": "r1", "api_key": secret, "model": "deepseek/deepseek-chat"},
        format="json",
    )

    assert_error(response, 401, "unauthorized", "Missing or invalid gateway service token.")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gateway"'
    assert state() == before
    assert recorded == []


def test_inputs_are_bounded_with_a_400_naming_the_field(secret):
    client = gateway_client()
    before = state()

    long_id = authorize(client, "r" * 129, secret)
    negative = client.post(
        "/api/v1/gateway/usage",
        {"request_id": "r1", "input_tokens": -1, "output_tokens": 0, "cost_usd": "0.01"},
        format="json",
    )
    not_an_object = client.post("/api/v1/gateway/release", "[1]", content_type="application/json")
    not_json = client.post("/api/v1/gateway/usage", "{", content_type="application/json")

    assert_error(
        long_id,
        400,
        "invalid_params",
        "Invalid parameter request_id: Ensure this field has no more than 128 characters.",
    )
    assert_error(
        negative,
        400,
        "invalid_params",
        "Invalid parameter input_tokens: Ensure this value is greater than or equal to 0.",
    )
    assert not_an_object.status_code == 400
    assert not_an_object.json()["error"]["type"] == "invalid_params"
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_params"
    assert state() == before


def test_another_method_is_a_json_405(secret):
    response = gateway_client().get("/api/v1/gateway/authorize")

    assert_error(response, 405, "method_not_allowed", "Method GET is not allowed here.")


def test_messages_follow_the_callers_language(secret):
    response = gateway_client().post(
        "/api/v1/gateway/usage",
        {"request_id": "never", "input_tokens": 1, "output_tokens": 1, "cost_usd": "0.01"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 409
    assert response.json()["error"]["type"] == "not_authorized"
    assert response.headers["Content-Language"] == "zh-hans"
    assert "never" in response.json()["error"]["message"]
    assert response.json()["error"]["message"] != "Request never was never authorized."


def test_a_database_error_is_a_503_with_the_spec_body(secret):
    client = gateway_client()

    def refuse(execute, sql, params, many, context):
        raise OperationalError("the database went away")

    with connection.execute_wrapper(refuse):
        response = authorize(client, "r1", secret)

    assert_error(
        response, 503, "service_unavailable", "The service is temporarily unavailable. Retry the request."
    )
    assert response.headers["Retry-After"] == "1"
    assert not Reservation.objects.exists()
