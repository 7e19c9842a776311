"""Per-key limits (issue #22): refusals change nothing, room comes back on release, periods reset,
limits set after a key's facts were cached are enforced at once, and the settings are bounded."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_set_limits
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.usage.exceptions import KeyLimitExceeded
from apps.usage.limits import limit_period_bounds
from apps.usage.models import KeySpend, QuotaWindow, Reservation
from apps.usage.services import meter_authorize, meter_release, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage
from tests.wallet.factories import credit

CHAT = "deepseek/deepseek-chat"


@pytest.fixture
def metered(user):
    """A roomy plan at $0.01 per Flow and one subscription key: (key, secret)."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=1000))
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


@pytest.mark.django_db
def test_key_limit_refusal_names_the_limit_and_reset_and_changes_nothing(user, metered):
    key, secret = metered
    _limit(user, key, spend="10", period="day")
    client = gateway_client()
    assert authorize(client, "a", secret, estimate="0.06").status_code == 200  # 6 Flows reserved
    assert authorize(client, "b", secret, estimate="0.06").status_code == 200  # 6 < 10: may cross
    before = _state(user)

    response = authorize(client, "c", secret, estimate="0.01")

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "key_limit_exceeded"
    assert error["limit"] == "spend"
    assert error["period"] == "day"
    _start, end = limit_period_bounds(period="day", now=datetime.now(UTC))
    assert error["resets_at"] == end.isoformat().replace("+00:00", "Z")
    assert "10 Flows per day" in error["message"]
    assert _state(user) == before


@pytest.mark.django_db
def test_release_gives_the_room_back_and_usage_counts_the_actual(user, metered):
    key, secret = metered
    _limit(user, key, spend="10", period="week")
    client = gateway_client()
    assert authorize(client, "a", secret, estimate="0.10").status_code == 200
    assert authorize(client, "b", secret).status_code == 402
    assert release(client, "a").status_code == 200
    assert KeySpend.objects.get(api_key=key).reserved == Decimal("0")
    assert authorize(client, "c", secret, estimate="0.10").status_code == 200
    assert usage(client, "c", cost="0.03").status_code == 200
    spend = KeySpend.objects.get(api_key=key)
    assert (spend.used, spend.reserved) == (Decimal("3"), Decimal("0"))
    assert authorize(client, "d", secret).status_code == 200  # 3 < 10 again


@pytest.mark.django_db
def test_a_new_period_starts_from_zero_and_total_never_resets(user, metered):
    key, secret = metered
    _limit(user, key, spend="5", period="day")
    day1 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    day2 = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)
    meter_authorize(request_id="d1", api_key=secret, model=CHAT, estimated_cost_usd=Decimal("0.05"), now=day1)
    meter_usage(request_id="d1", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.05"), now=day1)
    with pytest.raises(KeyLimitExceeded) as refused:
        meter_authorize(request_id="d1b", api_key=secret, model=CHAT, now=day1)
    assert refused.value.resets_at == datetime(2026, 3, 3, tzinfo=UTC)
    meter_authorize(request_id="d2", api_key=secret, model=CHAT, estimated_cost_usd=Decimal("0.05"), now=day2)
    meter_release(request_id="d2", now=day2)

    _limit(user, key, spend="5", period="total")
    with pytest.raises(KeyLimitExceeded) as refused:  # the spend before the limit existed counts
        meter_authorize(request_id="t1", api_key=secret, model=CHAT, now=day2)
    assert refused.value.resets_at is None


def test_period_bounds():
    now = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)  # a Thursday
    assert limit_period_bounds(period="day", now=now) == (
        datetime(2026, 12, 31, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert limit_period_bounds(period="week", now=now) == (
        datetime(2026, 12, 28, tzinfo=UTC),
        datetime(2027, 1, 4, tzinfo=UTC),
    )
    assert limit_period_bounds(period="month", now=now) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_model_not_allowed_and_key_rpm_refusals_change_nothing(user, metered):
    cache.clear()
    key, secret = metered
    _limit(user, key, models=[CHAT], rpm=1)
    client = gateway_client()
    before = _state(user)
    response = authorize(client, "m", secret, model="openai/gpt-5")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "model_not_allowed"
    assert _state(user) == before

    assert authorize(client, "ok", secret).status_code == 200
    before = _state(user)
    response = authorize(client, "rpm", secret)
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit"
    assert "this API key" in response.json()["error"]["message"]
    assert int(response["Retry-After"]) >= 1
    assert _state(user) == before


@pytest.mark.django_db
def test_payg_key_limit_refusal_leaves_the_wallet_alone(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    credit(user, "10")
    _limit(user, key, spend="0.05", period="month")
    client = gateway_client()
    assert authorize(client, "p1", secret, estimate="0.05").status_code == 200
    from apps.wallet.models import Wallet

    reserved = Wallet.objects.get(account=user).reserved_usd
    response = authorize(client, "p2", secret, estimate="0.05")
    assert response.status_code == 402
    assert response.json()["error"]["type"] == "key_limit_exceeded"
    assert "0.05 USD per month" in response.json()["error"]["message"]
    assert Wallet.objects.get(account=user).reserved_usd == reserved
    assert not Reservation.objects.filter(request_id="p2").exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_limit_set_after_the_fast_path_cached_the_key_is_enforced_at_once(user, metered):
    key, secret = metered
    client = gateway_client()
    assert authorize(client, "warm", secret).status_code == 200  # the fast path caches the key's facts
    assert usage(client, "warm", cost="0.05").status_code == 200
    _limit(user, key, spend="5", period="day")  # the 5 Flows spent today count

    response = authorize(client, "after", secret)

    assert response.status_code == 402
    assert response.json()["error"]["type"] == "key_limit_exceeded"
    _limit(user, key, spend="100", period="day")
    assert authorize(client, "room", secret).status_code == 200
    assert usage(client, "room", cost="0.02").status_code == 200  # settled on the key spend row too
    assert KeySpend.objects.get(api_key=key).used == Decimal("7")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"spend_limit": Decimal("0")}, "spend_limit"),
        ({"spend_limit": Decimal("-1")}, "spend_limit"),
        ({"spend_limit": Decimal("1000000000000")}, "spend_limit"),
        ({"spend_limit": Decimal("1.0000001")}, "spend_limit"),
        ({"spend_limit": Decimal("NaN")}, "spend_limit"),
        ({"spend_limit": Decimal("5"), "spend_limit_period": "year"}, "spend_limit_period"),
        ({"allowed_models": ["x"] * 51}, "allowed_models"),
        ({"allowed_models": ["x" * 101]}, "allowed_models"),
        ({"allowed_models": [""]}, "allowed_models"),
        ({"rpm_limit": 0}, "rpm_limit"),
        ({"rpm_limit": 1_000_001}, "rpm_limit"),
        ({"rpm_limit": True}, "rpm_limit"),
    ],
)
def test_limit_bounds_name_the_field_and_change_nothing(user, kwargs, field):
    key, _secret = make_key(account=user)
    arguments = {"spend_limit": None, "spend_limit_period": "", "allowed_models": [], "rpm_limit": None}
    arguments.update(kwargs)
    with pytest.raises(ApplicationError) as refused:
        api_key_set_limits(account=user, key_id=key.pk, **arguments)
    assert refused.value.code == f"invalid_{field}"
    assert field in str(refused.value.message)
    key.refresh_from_db()
    assert (key.spend_limit, key.allowed_models, key.rpm_limit, key.has_limits) == (None, [], None, False)
    assert not AuditEvent.objects.filter(event_type="api_key.limits_changed").exists()


@pytest.mark.django_db
def test_setting_and_clearing_limits_is_audited(user):
    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    _limit(user, key, spend="12.5", period="week", models=[CHAT, CHAT], rpm=30)
    key = ApiKey.objects.get(pk=key.pk)
    assert (key.spend_limit, key.spend_limit_period, key.allowed_models, key.rpm_limit, key.has_limits) == (
        Decimal("12.5"),
        "week",
        [CHAT],
        30,
        True,
    )
    _limit(user, key, spend="12.5", period="week", models=[CHAT], rpm=30)  # unchanged: no event
    _limit(user, key)
    key = ApiKey.objects.get(pk=key.pk)
    assert (key.spend_limit, key.spend_limit_period, key.has_limits) == (None, "", False)
    events = AuditEvent.objects.filter(event_type="api_key.limits_changed").order_by("id")
    assert [e.details["rpm_limit"] for e in events] == [30, None]


@pytest.mark.django_db
def test_management_keys_have_no_limits(user):
    key, _secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    with pytest.raises(ApplicationError):
        _limit(user, key, rpm=5)
