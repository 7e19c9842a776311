"""Pay-as-you-go keys: reserve on the wallet (balance − reserved > 0), settle through the ledger."""

from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.plans.models import Plan
from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, gateway_client, put_on_plan, release, usage
from tests.wallet.factories import assert_ledger_consistent, credit

pytestmark = pytest.mark.django_db


def wallet(user) -> Wallet:
    return Wallet.objects.get(account=user)


def state(user):
    w = Wallet.objects.filter(account=user).values().first()
    return {
        "wallet": w,
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "events": list(UsageEvent.objects.order_by("pk").values()),
        "windows": list(QuotaWindow.objects.order_by("pk").values()),
    }


@pytest.fixture
def payg(user):
    return make_key(account=user, kind=ApiKeyKind.PAYG)


def test_payg_reserves_on_the_wallet_and_settles_through_the_ledger(user, payg):
    key, secret = payg
    credit(user, "1.00")
    client = gateway_client()
    # Any model, whatever the plan (Free here), and no RPM limit.
    response = authorize(client, "p1", secret, model="openai/gpt-5.2-pro", estimate="0.30")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {
        "request_id": "p1",
        "decision": "payg",
        "extra_usage": False,
        "account_id": user.pk,
        "key_id": key.pk,
        "reserved_usd": "0.300000",
        "rpm_remaining": None,
    }
    assert wallet(user).reserved_usd == Decimal("0.3")
    response = usage(client, "p1", cost="0.45")  # larger than the estimate: the actual cost is billed
    assert response.json()["data"] == {
        "request_id": "p1",
        "billed_to": "payg",
        "extra_usage": False,
        "flows": "0.000000",
        "cost_usd": "0.450000",
    }
    w = wallet(user)
    assert (w.reserved_usd, w.total_balance) == (Decimal("0"), Decimal("0.55"))
    entry = LedgerEntry.objects.get(idempotency_key="usage:p1")
    assert (entry.entry_type, entry.amount, entry.api_key_id) == ("usage", Decimal("-0.45"), key.pk)
    key.refresh_from_db()
    assert (key.used_usd, key.used_flows, key.request_count) == (Decimal("0.45"), Decimal("0"), 1)
    assert not QuotaWindow.objects.filter(account=user).exists()  # the subscription is untouched
    # Replay bills nothing.
    assert usage(client, "p1", cost="0.99").json()["data"]["cost_usd"] == "0.450000"
    assert LedgerEntry.objects.filter(entry_type="usage").count() == 1
    assert_ledger_consistent(user)


def test_payg_release_returns_the_reservation(user, payg):
    _key, secret = payg
    credit(user, "1.00")
    client = gateway_client()
    authorize(client, "p2", secret, estimate="0.40")
    assert release(client, "p2").status_code == 200
    assert wallet(user).reserved_usd == Decimal("0")
    assert wallet(user).total_balance == Decimal("1.00")
    assert not LedgerEntry.objects.filter(entry_type="usage").exists()


def test_room_counts_reservations_and_a_crossing_request_is_admitted(user, payg):
    _key, secret = payg
    credit(user, "0.10")
    client = gateway_client()
    assert authorize(client, "a", secret, estimate="0.08").status_code == 200  # 0.10 − 0 > 0
    assert authorize(client, "b", secret, estimate="0.08").status_code == 200  # 0.10 − 0.08 > 0
    before = state(user)
    response = authorize(client, "c", secret, estimate="0.01")  # 0.10 − 0.16 ≤ 0
    assert response.status_code == 402
    assert response.json()["error"]["type"] == "insufficient_credit"
    assert state(user) == before


def test_wallet_empty_or_in_arrears_is_refused(user, payg):
    _key, secret = payg
    client = gateway_client()
    before = state(user)
    response = authorize(client, "n", secret)  # no wallet at all
    assert (response.status_code, response.json()["error"]["type"]) == (402, "insufficient_credit")
    assert state(user) == before
    credit(user, "0.05")
    authorize(client, "x", secret, estimate="0.05")
    usage(client, "x", cost="0.07")  # the estimate was too low: 0.02 of arrears
    assert wallet(user).total_balance == Decimal("-0.02")
    before = state(user)
    response = authorize(client, "y", secret)
    assert (response.status_code, response.json()["error"]["type"]) == (402, "insufficient_credit")
    assert state(user) == before
    assert_ledger_consistent(user)


def test_payg_key_may_call_models_outside_the_plan(user, payg):
    put_on_plan(user, Plan.objects.get(tier="pro"))
    _key, secret = payg
    credit(user, "1")
    assert authorize(gateway_client(), "m", secret, model="openai/gpt-5.2-pro").status_code == 200
    assert ApiKey.objects.get(pk=payg[0].pk).request_count == 0
