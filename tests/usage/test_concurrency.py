"""64 concurrent gateway clients against one account on PostgreSQL: no window overdrawn, sums exact."""

import random
from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.usage.models import QuotaWindow, QuotaWindowArchive, Reservation, UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage
from tests.wallet.factories import assert_ledger_consistent, credit

CLIENTS = 64
MAX_REQUEST_FLOWS = Decimal("5")  # every estimate is $0.05 = 5 Flows and covers the actual cost


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_never_overdraw_and_sums_stay_exact(user):
    cent_rate()
    plan = make_plan(q5h="60", weekly="80", monthly="200", rpm=10_000)
    put_on_plan(user, plan)
    secrets = [make_key(account=user, name=f"k{i}")[1] for i in range(4)]
    secrets += [make_key(account=user, kind=ApiKeyKind.PAYG, name=f"p{i}")[1] for i in range(2)]
    credit(user, "0.40")  # 8 estimates of $0.05 for the 21 pay-as-you-go clients: some are refused

    def client(index: int) -> tuple[str, int, int | None]:
        rng = random.Random(index)
        client = gateway_client()
        request_id = f"c{index}"
        first = authorize(client, request_id, secrets[index % 6], estimate="0.05")
        second = None
        if first.status_code == 200:
            if index % 8 == 7:
                second = release(client, request_id).status_code
            else:
                cost = str(Decimal(rng.randint(1, 50)) / 1000)  # $0.001 – $0.050
                second = usage(client, request_id, cost=cost).status_code
        return (request_id, first.status_code, second)

    outcomes = run_concurrently(client, CLIENTS)
    assert not raised(outcomes), raised(outcomes)
    assert len(outcomes) == CLIENTS
    statuses = {first for _id, first, _second in outcomes}
    assert statuses <= {200, 402}
    admitted = [o for o in outcomes if o[1] == 200]
    refused = [o for o in outcomes if o[1] == 402]
    assert admitted and refused  # the 5-hour window (60 Flows = 12 estimates) and the wallet refuse some
    assert all(second == 200 for _id, _first, second in admitted)
    assert any(int(o[0][1:]) % 6 >= 4 for o in refused)  # some pay-as-you-go clients found no room
    assert any(int(o[0][1:]) % 6 < 4 for o in refused)  # and some subscription clients

    assert not Reservation.objects.filter(status="active").exists()
    assert Reservation.objects.count() == len(admitted)
    assert not Reservation.objects.filter(request_id__in=[o[0] for o in refused]).exists()
    subscription_events = UsageEvent.objects.filter(billed_to="subscription")
    events_total = sum(subscription_events.values_list("flows", flat=True), Decimal("0"))
    assert UsageEvent.objects.count() == len([o for o in admitted if int(o[0][1:]) % 8 != 7])
    assert not QuotaWindowArchive.objects.exists()
    for window in QuotaWindow.objects.filter(account=user):
        assert window.reserved_flows == Decimal("0")
        assert window.used_flows == events_total, window.kind
    maxima = {
        "five_hour": plan.quota_5h_flows,
        "weekly": plan.weekly_max_flows,
        "monthly": plan.monthly_max_flows,
    }
    for window in QuotaWindow.objects.filter(account=user):
        assert window.used_flows <= maxima[window.kind] + MAX_REQUEST_FLOWS

    # Pay-as-you-go: nothing left reserved, the balance is its ledger sum, never more than one
    # request's cost below zero, and the ledger holds exactly the settled events' costs.
    wallet = Wallet.objects.get(account=user)
    assert wallet.reserved_usd == Decimal("0")
    assert_ledger_consistent(user)
    assert wallet.total_balance >= -Decimal("0.05")
    payg_costs = sum(
        UsageEvent.objects.filter(billed_to="payg").values_list("cost_usd", flat=True), Decimal(0)
    )
    usage_entries = LedgerEntry.objects.filter(wallet=wallet, entry_type="usage")
    assert -sum(usage_entries.values_list("amount", flat=True), Decimal(0)) == payg_costs
    assert usage_entries.count() == UsageEvent.objects.filter(billed_to="payg").count() > 0
    assert wallet.total_balance == Decimal("0.40") - payg_costs


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_request_have_the_effect_of_one(user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=10_000))
    _key, secret = make_key(account=user)
    _pkey, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="p")
    credit(user, "1.00")
    for request_id, key in (("same-sub", secret), ("same-payg", payg_secret)):
        answers = run_concurrently(
            lambda _i, rid=request_id, k=key: authorize(gateway_client(), rid, k).json(), 8
        )
        assert all(answer == answers[0] for answer in answers), answers
        assert answers[0]["success"] is True
        answers = run_concurrently(
            lambda i, rid=request_id: usage(gateway_client(), rid, cost=f"0.0{i + 1}").json(), 8
        )
        assert all(answer == answers[0] for answer in answers), answers
    assert Reservation.objects.count() == 2
    assert UsageEvent.objects.count() == 2
    flows = UsageEvent.objects.get(request_id="same-sub").flows
    for window in QuotaWindow.objects.filter(account=user):
        assert (window.used_flows, window.reserved_flows) == (flows, Decimal("0"))
    wallet = Wallet.objects.get(account=user)
    cost = UsageEvent.objects.get(request_id="same-payg").cost_usd
    assert (wallet.reserved_usd, wallet.total_balance) == (Decimal("0"), Decimal("1.00") - cost)
    assert LedgerEntry.objects.filter(entry_type="usage").count() == 1
    assert_ledger_consistent(user)
