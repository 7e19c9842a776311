"""The gateway's lean lane (apps/usage/apis.py GatewayApi.lean): plainly well-formed calls are answered
without DRF's request wrapping and serializers. It must accept only what the serializers accept, with the
same values, and answer exactly what the DRF view answers; everything else goes to the DRF view."""

import json
from decimal import Decimal

import pytest
from django.db import OperationalError, transaction
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from apps.usage.apis import AuthorizeApi, GatewayApi, ReleaseApi, UsageApi
from apps.usage.services import fastpath
from tests.api_keys.factories import make_key
from tests.properties import PROPERTY_SETTINGS
from tests.usage.factories import cent_rate, gateway_client, make_plan, put_on_plan

VIEWS = {"authorize": AuthorizeApi, "usage": UsageApi, "release": ReleaseApi}
TOKEN = "Bearer test-gateway-token"

# Values near every rule's edges: lengths, spaces, non-ASCII, control characters, numbers as strings.
texts = st.one_of(
    st.sampled_from(
        ["", " ", "r1", " r1", "r1 ", "r\x00", "r\t1", "é", "x" * 45, "x" * 46, "x" * 128, "x" * 129]
    ),
    st.text(max_size=12),
)
amounts = st.one_of(
    st.sampled_from(
        ["0", "0.01", "0.0123456", "1000000", "1000000.000001", "9999999", "-1", "1e3", " 1", "01"]
    ),
    st.integers(min_value=-5, max_value=2_000_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
)
counts = st.one_of(st.integers(min_value=-2, max_value=10**13), st.sampled_from([True, "5", 5.0, None]))
clients = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "ip": st.one_of(st.none(), texts, st.sampled_from(["10.0.0.1", "::1"])),
            "user_agent": st.one_of(st.none(), texts, st.integers()),
            "other": st.just(1),
        },
    ),
    texts,
)
BODIES = {
    "authorize": st.fixed_dictionaries(
        {},
        optional={
            "request_id": texts,
            "api_key": texts,
            "model": texts,
            "estimated_cost_usd": amounts,
            "client": clients,
            "extra": st.just(1),
        },
    ),
    "usage": st.fixed_dictionaries(
        {},
        optional={
            "request_id": texts,
            "input_tokens": counts,
            "output_tokens": counts,
            "cost_usd": amounts,
        },
    ),
    "release": st.fixed_dictionaries({}, optional={"request_id": texts, "extra": st.just(1)}),
}


def lean_body(view, body, **headers):
    request = RequestFactory().post(
        "/api/v1/gateway/x",
        json.dumps(body),
        content_type=headers.pop("content_type", "application/json"),
        HTTP_AUTHORIZATION=headers.pop("authorization", TOKEN),
        **headers,
    )
    return view.lean_body(request)


def plain(data):
    return {name: plain(value) if isinstance(value, dict) else value for name, value in data.items()}


@pytest.mark.parametrize("endpoint", VIEWS)
def test_the_lane_accepts_only_what_the_serializer_accepts_with_the_same_values(endpoint):
    view = VIEWS[endpoint]

    @PROPERTY_SETTINGS
    @given(body=BODIES[endpoint])
    def check(body):
        data = lean_body(view, body)
        if data is None:
            return  # the DRF view answers
        serializer = view.InputSerializer(data=body)
        assert serializer.is_valid(), (body, serializer.errors)
        assert plain(serializer.validated_data) == data
        for name, value in data.items():
            assert type(value) is type(serializer.validated_data[name]), name

    check()


def test_the_lane_takes_a_plain_gateway_call_as_the_gateway_sends_it():
    body = {
        "request_id": "req_1",
        "api_key": "sk-sub-v1-abc",
        "model": "deepseek/deepseek-chat",
        "estimated_cost_usd": "0.05",
        "client": {"ip": "203.0.113.9", "user_agent": "curl/8.5"},
    }

    assert lean_body(AuthorizeApi, body) == {**body, "estimated_cost_usd": Decimal("0.05")}
    assert lean_body(UsageApi, {"request_id": "req_1", "input_tokens": 10}) == {
        "request_id": "req_1",
        "input_tokens": 10,
        "output_tokens": 0,
        "cost_usd": None,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer wrong"},
        {"authorization": ""},
        {"content_type": "text/plain"},
        {"content_type": "application/json; charset=latin-1"},
        {"HTTP_ACCEPT": "text/html"},
        {"CONTENT_LENGTH": "x"},
        {"CONTENT_LENGTH": "-1"},
        {"CONTENT_LENGTH": "9000"},
    ],
)
def test_the_lane_leaves_anything_unusual_in_the_request_to_the_drf_view(headers):
    assert lean_body(ReleaseApi, {"request_id": "r1"}, **headers) is None
    assert lean_body(ReleaseApi, {"request_id": "r1"}) == {"request_id": "r1"}


@pytest.mark.parametrize("body", ['{"request_id": "r1"', "[1]", '{"request_id": NaN}', "x" * 9000])
def test_the_lane_leaves_bodies_it_cannot_plainly_read_to_the_drf_view(body):
    request = RequestFactory().post(
        "/api/v1/gateway/release", body, content_type="application/json", HTTP_AUTHORIZATION=TOKEN
    )
    assert ReleaseApi.lean_body(request) is None


# --- the answers are the DRF view's answers ---------------------------------------------------------------


@pytest.fixture
def secret(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="1", weekly="300", monthly="500"))
    return make_key(account=user)[1]


@pytest.fixture
def served(monkeypatch):
    """Which calls the serializers validated (the DRF view) rather than the lane."""
    seen = []
    validated = GatewayApi.validated

    def spy(self, serializer_class):
        seen.append(type(self).__name__)
        return validated(self, serializer_class)

    monkeypatch.setattr(GatewayApi, "validated", spy)
    return seen


def answer(response) -> tuple:
    headers = {
        name: response.headers.get(name)
        for name in ("Content-Type", "Content-Length", "Content-Language", "Vary", "Allow", "Retry-After")
    }
    payload = response.json()
    if payload.get("success"):
        payload["data"].pop("rpm_remaining", None)  # one RPM slot less on the second run
    elif "resets_at" in payload["error"]:  # computed from the time of the call
        payload["error"]["resets_at"] = type(payload["error"]["resets_at"]).__name__
    return response.status_code, payload, headers


def both_ways(monkeypatch, calls) -> list[tuple]:
    """Each scenario run through the lane and again through the DRF view, from the same database state."""
    runs = []
    for lane in (True, False):
        with monkeypatch.context() as patch:
            if not lane:
                patch.setattr(GatewayApi, "lean", classmethod(lambda cls, request: None))
            with transaction.atomic():
                runs.append([answer(call()) for call in calls])
                transaction.set_rollback(True)
    assert runs[0] == runs[1]
    return runs[0]


@pytest.mark.django_db
def test_lane_answers_equal_the_drf_views_answers_success_and_refusals(monkeypatch, served, secret):
    client = gateway_client()

    def post(endpoint, body, **headers):
        return lambda: client.post(f"/api/v1/gateway/{endpoint}", body, format="json", **headers)

    calls = [
        post("authorize", {"request_id": "a", "api_key": secret, "model": "deepseek/deepseek-chat"}),
        post("authorize", {"request_id": "a", "api_key": secret, "model": "deepseek/deepseek-chat"}),
        post("usage", {"request_id": "a", "input_tokens": 3, "cost_usd": "0.02"}),
        post("usage", {"request_id": "a", "input_tokens": 3, "cost_usd": "0.02"}),
        post("authorize", {"request_id": "b", "api_key": secret, "model": "deepseek/deepseek-chat"}),
        post("usage", {"request_id": "nope"}, HTTP_ACCEPT_LANGUAGE="zh-Hans"),
        post("release", {"request_id": "a"}),
        post("authorize", {"request_id": "c", "api_key": "sk-sub-v1-unknown", "model": "x/y"}),
        post("authorize", {"request_id": "a", "api_key": secret, "model": "openai/gpt-5.2-pro"}),
    ]

    answers = both_ways(monkeypatch, calls)

    assert [status for status, _payload, _headers in answers] == [200, 200, 200, 200, 402, 409, 200, 403, 409]
    assert answers[2][1]["data"]["flows"] == "2.000000"
    assert answers[4][1]["error"]["type"] == "quota_exceeded"
    assert answers[5][2]["Content-Language"] == "zh-hans"
    assert answers[0][2]["Allow"] == "POST, OPTIONS"
    # The serializers ran only in the second run: the lane took all nine calls the first time.
    assert served == [
        "AuthorizeApi", "AuthorizeApi", "UsageApi", "UsageApi", "AuthorizeApi", "UsageApi", "ReleaseApi",
        "AuthorizeApi", "AuthorizeApi",
    ]  # fmt: skip


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_database_error_in_the_lane_is_the_drf_views_503(monkeypatch, served, secret):
    def broken(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(fastpath, "_execute", broken)
    client = gateway_client()
    call = lambda: client.post(  # noqa: E731
        "/api/v1/gateway/authorize",
        {"request_id": "a", "api_key": secret, "model": "deepseek/deepseek-chat"},
        format="json",
    )
    ((status, payload, headers),) = both_ways(monkeypatch, [call])

    assert status == 503
    assert payload["error"]["type"] == "service_unavailable"
    assert headers["Retry-After"] == "1"
    assert served == ["AuthorizeApi"]
