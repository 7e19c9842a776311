"""64 concurrent gateway clients against one limited key (issue #22): no key beyond its limit by more than
one request, and the counters are exact sums of what was settled."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_set_limits
from apps.usage.models import KeySpend, Reservation, UsageEvent
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, usage
from tests.wallet.factories import credit

CLIENTS = 64


def _limit(user, key, *, spend=None, period="", models=(), rpm=None):
    return api_key_set_limits(
        account=user,
        key_id=key.pk,
        spend_limit=Decimal(spend) if spend is not None else None,
        spend_limit_period=period,
        allowed_models=list(models),
        rpm_limit=rpm,
    )


def _run(secret, *, model=lambda index: "deepseek/deepseek-chat"):
    def client(index: int):
        gateway = gateway_client()
        request_id = f"lim{index}"
        first = authorize(gateway, request_id, secret, model=model(index), estimate="0.05")
        second = usage(gateway, request_id, cost="0.04").status_code if first.status_code == 200 else None
        return request_id, first.status_code, first.json().get("error", {}).get("type"), second

    outcomes = run_concurrently(client, CLIENTS)
    assert not raised(outcomes), raised(outcomes)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_subscription_key_spend_limit_holds_under_64_clients(user):
    cent_rate()  # $0.05 estimate = 5 Flows, $0.04 actual = 4 Flows
    put_on_plan(user, make_plan(q5h="100000", weekly="100000", monthly="100000", rpm=10_000))
    key, secret = make_key(account=user)
    _limit(user, key, spend="20", period="day")

    outcomes = _run(secret)
    admitted = [o for o in outcomes if o[1] == 200]
    refused = [o for o in outcomes if o[1] != 200]
    assert admitted and refused
    assert {(status, kind) for _id, status, kind, _s in refused} == {(402, "key_limit_exceeded")}
    assert all(second == 200 for *_rest, second in admitted)
    spend = KeySpend.objects.get(api_key=key)
    assert spend.reserved == Decimal("0")
    assert spend.used == sum(UsageEvent.objects.filter(api_key=key).values_list("flows", flat=True))
    assert spend.used == Decimal("4") * len(admitted)
    # Room rule: admitted while used + reserved < 20 with 5 reserved each → at most 4 at once, and the
    # last admitted request may cross the limit by at most one request's estimate.
    assert spend.used < Decimal("20") + Decimal("5")
    assert Reservation.objects.count() == len(admitted)


@pytest.mark.django_db(transaction=True)
def test_payg_key_spend_limit_holds_under_64_clients(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    credit(user, "100")
    _limit(user, key, spend="0.30", period="total")

    outcomes = _run(secret)
    admitted = [o for o in outcomes if o[1] == 200]
    refused = [o for o in outcomes if o[1] != 200]
    assert admitted and refused
    assert {(status, kind) for _id, status, kind, _s in refused} == {(402, "key_limit_exceeded")}
    spend = KeySpend.objects.get(api_key=key)
    assert spend.reserved == Decimal("0")
    assert spend.used == Decimal("0.04") * len(admitted)
    assert spend.used < Decimal("0.30") + Decimal("0.05")
    assert UsageEvent.objects.filter(api_key=key).count() == len(admitted)


@pytest.mark.django_db(transaction=True)
def test_key_rpm_cap_holds_under_64_clients(user):
    cache.clear()
    put_on_plan(user, make_plan(q5h="100000", weekly="100000", monthly="100000", rpm=10_000))
    key, secret = make_key(account=user)
    _limit(user, key, rpm=10)

    outcomes = _run(secret)
    assert sorted(status for _id, status, _kind, _s in outcomes) == [200] * 10 + [429] * 54
    assert {kind for _id, status, kind, _s in outcomes if status == 429} == {"rate_limit"}
    assert Reservation.objects.count() == 10


@pytest.mark.django_db(transaction=True)
def test_model_allow_list_holds_under_64_clients(user):
    put_on_plan(user, make_plan(q5h="100000", weekly="100000", monthly="100000", rpm=10_000))
    key, secret = make_key(account=user)
    _limit(user, key, models=["deepseek/deepseek-chat"])

    outcomes = _run(secret, model=lambda index: "deepseek/deepseek-chat" if index % 2 else "openai/gpt-5")
    allowed = {o[0] for o in outcomes if o[1] == 200}
    assert allowed == {f"lim{i}" for i in range(1, CLIENTS, 2)}
    assert {(o[1], o[2]) for o in outcomes if o[1] != 200} == {(404, "model_not_allowed")}
    assert set(Reservation.objects.values_list("request_id", flat=True)) == allowed


@pytest.mark.django_db(transaction=True)
def test_every_limit_at_once_holds_under_64_clients_once_the_key_is_warm(user):
    """The bench's case: the key's facts are cached and its period row exists, so the 64 clients take the
    fast path (fastpath.py) until the spend limit has no room, then the full path refuses."""
    cache.clear()
    cent_rate()
    put_on_plan(user, make_plan(q5h="100000", weekly="100000", monthly="100000", rpm=10_000))
    key, secret = make_key(account=user)
    _limit(user, key, spend="40", period="day", models=["deepseek/deepseek-chat"], rpm=1000)
    gateway = gateway_client()
    assert authorize(gateway, "warm", secret, estimate="0.05").status_code == 200  # creates the period row
    assert usage(gateway, "warm", cost="0.04").status_code == 200

    outcomes = _run(secret)
    admitted = [o for o in outcomes if o[1] == 200]
    refused = [o for o in outcomes if o[1] != 200]
    assert admitted and refused
    assert {(status, kind) for _id, status, kind, _s in refused} == {(402, "key_limit_exceeded")}
    assert all(second == 200 for *_rest, second in admitted)
    spend = KeySpend.objects.get(api_key=key)
    assert spend.reserved == Decimal("0")
    assert spend.used == sum(UsageEvent.objects.filter(api_key=key).values_list("flows", flat=True))
    assert spend.used == Decimal("4") * (len(admitted) + 1)
    assert spend.used < Decimal("40") + Decimal("5")
    assert Reservation.objects.count() == len(admitted) + 1
