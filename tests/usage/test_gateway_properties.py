"""Property-based: for random bodies, the gateway never answers 5xx, every refusal is the SPEC §7 body,
and a refused call changes nothing."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key
from tests.properties import PROPERTY_SETTINGS, assert_not_server_error, assert_unchanged, snapshot
from tests.usage.factories import cent_rate, gateway_client, make_plan, put_on_plan
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db
SETTLE_NOISE = {"api_keys.ApiKey": {"last_used_at"}}  # touched by accepted calls, rate-limited by time

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["0.05", "1e30", "-1", "1000000", "1000000.000001", "NaN", "9" * 40]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture
def secrets(user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=100_000))
    credit(user, "5.00")
    return [
        make_key(account=user, kind=kind)[1]
        for kind in (ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG, ApiKeyKind.MANAGEMENT)
    ]


def bodies(secrets):
    request_ids = st.one_of(st.sampled_from(["gen_a", "gen_b"]), json_values)
    return st.fixed_dictionaries(
        {},
        optional={
            "request_id": request_ids,
            "api_key": st.one_of(st.sampled_from(secrets), json_values),
            "model": st.one_of(
                st.sampled_from(["deepseek/deepseek-chat", "openai/gpt-5.2-pro"]), json_values
            ),
            "estimated_cost_usd": json_values,
            "input_tokens": json_values,
            "output_tokens": json_values,
            "cost_usd": json_values,
            "extra": json_values,
        },
    )


@pytest.mark.parametrize("endpoint", ["authorize", "usage", "release"])
def test_random_gateway_bodies_never_fail_and_refusals_change_nothing(user, secrets, endpoint):
    client = gateway_client()
    # Open one reservation per request id first, so usage/release bodies reach the engine too.
    for request_id, secret in (("gen_a", secrets[0]), ("gen_b", secrets[1])):
        body = {"request_id": request_id, "api_key": secret, "model": "deepseek/deepseek-chat"}
        assert client.post("/api/v1/gateway/authorize", body, format="json").status_code == 200

    @PROPERTY_SETTINGS
    @given(body=st.one_of(bodies(secrets), json_values))
    def check(body):
        before = snapshot(SETTLE_NOISE)
        response = client.post(
            f"/api/v1/gateway/{endpoint}", json.dumps(body), content_type="application/json"
        )
        assert_not_server_error(response)
        payload = response.json()
        if response.status_code == 200:
            assert payload["success"] is True
            return
        assert payload["success"] is False
        assert payload["error"]["code"] == str(response.status_code)
        assert payload["error"]["type"] and payload["error"]["message"]
        if response.status_code != 402:  # quota_exceeded keeps lazy window rolls made on the way (SPEC §5)
            assert_unchanged(before, SETTLE_NOISE)

    check()
