"""Per-endpoint, per-key minute limit: request 61 → 422 rate_limit + Retry-After, other endpoints and keys
unaffected, the next minute works again. The throttle's clock is passed in (no sleeping)."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.management_api.throttling import ManagementRateThrottle
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.management_api.factories import get, management_client

pytestmark = pytest.mark.django_db

MINUTE_START = 1_800_000_000 - 1_800_000_000 % 60  # a whole minute (seconds since the epoch)


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the throttle: `clock.now = …` (seconds since the epoch)."""

    class Clock:
        now = MINUTE_START + 15.2

    monkeypatch.setattr(ManagementRateThrottle, "clock", staticmethod(lambda: Clock.now))
    return Clock


def test_request_61_in_a_minute_is_422_while_other_endpoints_answer(user, clock):
    client, key = management_client(user)
    for _ in range(60):
        assert get(client, "flow_rate").status_code == 200
    refused = get(client, "flow_rate")
    assert refused.status_code == 422
    assert refused.json() == {
        "success": False,
        "error": {
            "code": "422",
            "type": "rate_limit",
            "message": "Too many requests to this endpoint with this key. Try again in 45 s.",
        },
    }
    assert refused["Retry-After"] == "45"  # 44.8 s left in the minute, rounded up
    # Other endpoints keep their own counters; another key of the same account has its own too.
    assert get(client, "payg/balance").status_code == 200
    assert get(client, "subscription/detail").status_code == 200
    other_client, _other = management_client(user, name="Other")
    assert get(other_client, "flow_rate").status_code == 200
    # Refused requests are not served, so they do not count as the key's requests.
    assert ApiKey.objects.get(pk=key.pk).request_count == 62
    # The next minute works again.
    clock.now = MINUTE_START + 60
    assert get(client, "flow_rate").status_code == 200


def test_the_limit_comes_from_settings_and_counts_after_authentication(user, clock, settings):
    settings.FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = 2
    client, _key = management_client(user)
    anonymous = APIClient()
    for _ in range(5):  # refused before the throttle: they do not use the key's budget
        assert anonymous.get("/api/v1/management/generation").status_code == 401
    assert get(client, "generation", id="a").status_code == 404
    assert get(client, "generation").status_code == 400
    assert get(client, "generation", id="a").status_code == 422
    clock.now = MINUTE_START + 59.99
    response = get(client, "generation", id="a")
    assert (response.status_code, response["Retry-After"]) == (422, "1")


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_limit(user, clock):
    """80 requests from 8 threads within one minute: exactly 60 are served (Redis add + incr is atomic)."""
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)

    def worker(_index: int) -> list[int]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return [get(client, "flow_rate").status_code for _ in range(10)]

    results = run_concurrently(worker, 8)
    assert raised(results) == []
    statuses = [status for statuses in results for status in statuses]
    assert sorted(set(statuses)) == [200, 422]
    assert (statuses.count(200), statuses.count(422)) == (60, 20)
    assert ApiKey.objects.get(pk=key.pk).request_count == 60


def test_the_refusal_is_in_the_accounts_language(user, clock, settings):
    settings.FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = 1
    User.objects.filter(pk=user.pk).update(preferred_language="zh-hans")
    client, _key = management_client(user)
    assert get(client, "flow_rate").status_code == 200
    refused = get(client, "flow_rate")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "该 API Key 对此接口的请求过于频繁，请在 45 秒后重试。"
