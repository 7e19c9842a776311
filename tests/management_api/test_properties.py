"""Property-based: random query strings never make the management API answer 5xx, errors are the SPEC §7
body, and no request changes anything but the key's own request counter."""

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key
from tests.management_api.factories import metered, on_plan
from tests.properties import (
    PROPERTY_SETTINGS,
    assert_not_server_error,
    assert_unchanged,
    snapshot,
    text_values,
)

pytestmark = pytest.mark.django_db
COUNTERS = {"api_keys.ApiKey": {"request_count", "last_used_at"}}
ENDPOINTS = {
    "subscription/detail": [],
    "flow_rate": [],
    "payg/balance": [],
    "generation": ["id"],
    "statistics/timeseries": ["metric", "bucket_width", "starting_at", "ending_at", "limit"],
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_random_query_strings_never_fail(user, settings, endpoint):
    settings.FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = 100_000
    on_plan(user, "pro", start=timezone.now() - timezone.timedelta(days=2))
    _key, subscription_secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    metered(subscription_secret, cost="0.25", request_id="gen_prop")
    _key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    names = [*ENDPOINTS[endpoint], "unexpected"]
    values = st.one_of(text_values, st.sampled_from(["gen_prop", "cost", "1w", "2026-11-01", "60", "0"]))

    @PROPERTY_SETTINGS
    @given(params=st.fixed_dictionaries({}, optional={name: values for name in names}))
    def check(params):
        before = snapshot(COUNTERS)
        response = client.get(f"/api/v1/management/{endpoint}", params)
        assert_not_server_error(response)
        body = response.json()
        assert body["success"] is (response.status_code == 200)
        if response.status_code != 200:
            assert body["error"]["code"] == str(response.status_code)
        assert_unchanged(before, COUNTERS)

    check()
