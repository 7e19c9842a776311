"""Subscription keys with limits on the PostgreSQL hot path (fastpath.py, issue #22).

A warm limited key takes one statement to authorize and one to settle, like any other key: the
authorize statement locks and checks the key's spend row for the current period (before the windows, the
full path's lock order) and re-checks the cached limits on the key row; the settle statement moves the
reservation's amount from reserved to used on that row. Refusals, a missing period row and edited limits
are left to the full path, which decides from scratch.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.api_keys.services import api_key_set_limits
from apps.usage import rpm
from apps.usage.limits import limit_period_bounds
from apps.usage.models import KeySpend, QuotaWindow, Reservation
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, usage

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

CHAT = "deepseek/deepseek-chat"


@pytest.fixture
def metered(user):
    """A roomy plan at $0.01 per Flow and one subscription key: (key, secret)."""
    cache.clear()
    cent_rate()
    put_on_plan(user, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=50))
    return make_key(account=user)


def _limit(user, key, *, spend=None, period="", models=(), rpm=None):
    return api_key_set_limits(
        account=user,
        key_id=key.pk,
        spend_limit=Decimal(spend) if spend is not None else None,
        spend_limit_period=period,
        allowed_models=list(models),
        rpm_limit=rpm,
    )


def _state(user):
    return (
        sorted(QuotaWindow.objects.filter(account=user).values_list("kind", "used_flows", "reserved_flows")),
        sorted(KeySpend.objects.values_list("api_key_id", "period_start", "used", "reserved")),
        sorted(Reservation.objects.values_list("request_id", "status")),
    )


def _slots(name) -> int:
    """Slots taken in a sliding minute of the RPM limiter (rpm.py): Redis, or process memory."""
    if settings.REDIS_URL:
        return redis.Redis.from_url(settings.REDIS_URL).zcard(f"{rpm.KEY_PREFIX}{name}")
    return len(rpm._limiter().entries.get(name, ()))


def _warm(client, secret):
    assert authorize(client, "warm", secret, estimate="0.05").status_code == 200  # full path: period row
    assert usage(client, "warm", cost="0.03").status_code == 200


def test_a_warm_limited_key_takes_one_statement_to_authorize_and_one_to_settle(user, metered):
    key, secret = metered
    _limit(user, key, spend="100", period="day", models=[CHAT], rpm=20)
    client = gateway_client()
    _warm(client, secret)

    with CaptureQueriesContext(connection) as authorize_queries:
        response = authorize(client, "hot", secret, estimate="0.05")
    reservation = Reservation.objects.get(request_id="hot")
    spend_reserved = KeySpend.objects.get(api_key=key)
    with CaptureQueriesContext(connection) as usage_queries:
        settled = usage(client, "hot", cost="0.04")

    assert response.status_code == 200
    assert response.json()["data"]["reserved_flows"] == "5.000000"
    assert response.json()["data"]["rpm_remaining"] == 48  # the account's, as without key limits
    start, _end = limit_period_bounds(period="day", now=datetime.now(UTC))
    assert (reservation.key_limit_start, reservation.key_limit_reserved) == (start, Decimal("5"))
    assert (spend_reserved.used, spend_reserved.reserved) == (Decimal("3"), Decimal("5"))
    assert settled.status_code == 200
    assert settled.json()["data"]["flows"] == "4.000000"
    assert len(authorize_queries) == 1
    assert len(usage_queries) == 1
    spend = KeySpend.objects.get(api_key=key)
    assert (spend.period_start, spend.used, spend.reserved) == (start, Decimal("7"), Decimal("0"))
    assert (
        sorted(QuotaWindow.objects.filter(account=user).values_list("used_flows", "reserved_flows"))
        == [(Decimal("7"), Decimal("0"))] * 3
    )
    # The key's own RPM cap counted both requests in Redis (the fast path takes it with the account's).
    assert _slots(f"key:{key.pk}") == 2


def test_on_the_fast_path_the_spend_limit_admits_while_there_is_room_then_refuses_changing_nothing(
    user, metered
):
    key, secret = metered
    _limit(user, key, spend="10", period="day")
    client = gateway_client()
    _warm(client, secret)  # 3 used
    with CaptureQueriesContext(connection) as queries:
        assert authorize(client, "a", secret, estimate="0.06").status_code == 200  # 3 + 0 < 10: 6 reserved
    assert len(queries) == 1
    assert authorize(client, "b", secret, estimate="0.01").status_code == 200  # 3 + 6 < 10: may cross
    before = _state(user)

    response = authorize(client, "c", secret, estimate="0.01")  # 3 + 7 = 10: no room

    assert response.status_code == 402
    assert response.json()["error"]["type"] == "key_limit_exceeded"
    assert _state(user) == before
    assert KeySpend.objects.get(api_key=key).reserved == Decimal("7")


def test_an_allow_list_edited_after_the_key_was_cached_is_enforced_at_once(user, metered):
    key, secret = metered
    _limit(user, key, models=[CHAT, "openai/gpt-5"])
    client = gateway_client()
    _warm(client, secret)  # the key's facts, allow-list included, are cached
    _limit(user, key, models=["openai/gpt-5"])
    before = _state(user)

    response = authorize(client, "gone", secret, model=CHAT)

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "model_not_allowed"
    assert _state(user) == before


def test_a_spend_limit_lowered_after_the_key_was_cached_is_enforced_at_once(user, metered):
    key, secret = metered
    _limit(user, key, spend="100", period="day")
    client = gateway_client()
    _warm(client, secret)
    _limit(user, key, spend="3", period="day")  # 3 already used
    before = _state(user)

    response = authorize(client, "lowered", secret)

    assert response.status_code == 402
    assert _state(user) == before


def test_the_key_rpm_cap_refuses_on_the_fast_path_and_gives_the_account_slot_back(user, metered):
    key, secret = metered
    _limit(user, key, rpm=2)
    client = gateway_client()
    _warm(client, secret)
    assert authorize(client, "second", secret).status_code == 200
    before = _state(user)

    response = authorize(client, "third", secret)

    assert response.status_code == 429
    assert "this API key" in response.json()["error"]["message"]
    assert _state(user) == before
    assert _slots(f"key:{key.pk}") == 2
    assert _slots(user.pk) == 2  # the refused request holds no account slot


def test_a_limit_threshold_crossed_on_the_fast_path_is_noticed_once(user, metered):
    """The settle statement returns the key's spend counter before and after, so the limit alerts of
    issue #22 fire on the fast path too, with no query below the alert range."""
    from apps.notifications.models import Notification

    key, secret = metered
    _limit(user, key, spend="10", period="day")  # 10 Flows a UTC day
    client = gateway_client()
    _warm(client, secret)  # 3 Flows used: the period row exists, the key is cached

    with CaptureQueriesContext(connection) as below:
        assert authorize(client, "a", secret, estimate="0.01").status_code == 200
        assert usage(client, "a", cost="0.01").status_code == 200  # 4 of 10: below the alert range
    assert len(below) == 2
    assert authorize(client, "b", secret, estimate="0.01").status_code == 200
    with CaptureQueriesContext(connection) as crossing:
        assert usage(client, "b", cost="0.045").status_code == 200  # 8.5 of 10: crosses 80%
    assert crossing[0]["sql"] is None  # the prepared settle statement took it (then the notice's writes)
    fired = Notification.objects.filter(account=user, kind="limits.key_threshold")
    assert [(n.data["threshold"], n.data["used"], n.data["limit"]) for n in fired] == [
        (80, "8.500000", "10.000000")
    ]
    assert authorize(client, "c", secret, estimate="0.01").status_code == 200
    assert usage(client, "c", cost="0.001").status_code == 200  # 8.6: no second notice for 80%
    assert fired.count() == 1
