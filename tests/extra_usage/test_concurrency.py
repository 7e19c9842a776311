"""Concurrent requests over an exhausted window with Extra Usage on (PostgreSQL, threads): the wallet
admits requests only while balance − reserved > 0, and every settled request is billed exactly once."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from apps.api_keys.models import ApiKeyKind
from apps.extra_usage.services import extra_usage_enable
from apps.usage.models import Reservation, UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, usage
from tests.wallet.factories import assert_ledger_consistent, credit

CLIENTS = 16


@pytest.mark.django_db(transaction=True)
def test_concurrent_extra_usage_never_overdraws_the_wallet(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="5", weekly="100", monthly="200", rpm=10_000))
    _sub, secret = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    extra_usage_enable(account=user, payg_key_id=payg.pk)
    credit(user, "0.20")  # 4 estimates of $0.05
    client = gateway_client()
    assert authorize(client, "fill", secret, estimate="0.05").status_code == 200  # fills the 5 Flows
    assert usage(client, "fill", cost="0.05").status_code == 200

    def run(index: int) -> int:
        own = gateway_client()
        response = authorize(own, f"c{index}", secret, estimate="0.05")
        if response.status_code == 200:
            assert response.json()["data"]["extra_usage"] is True
            assert usage(own, f"c{index}", cost="0.05").status_code == 200
        return response.status_code

    statuses = run_concurrently(run, CLIENTS)
    assert not raised(statuses), raised(statuses)
    admitted = statuses.count(200)
    assert statuses.count(402) == CLIENTS - admitted
    # Room = balance − reserved > 0 with $0.05 estimates covering $0.05 costs: exactly 4 fit in $0.20.
    assert admitted == 4
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.reserved_usd) == (Decimal("0"), Decimal("0"))
    extra = UsageEvent.objects.filter(account=user, extra_usage=True)
    assert extra.count() == admitted
    assert extra.aggregate(total=Sum("cost_usd"))["total"] == Decimal("0.20")
    assert LedgerEntry.objects.filter(entry_type="usage", api_key_id=payg.pk).count() == admitted
    assert Reservation.objects.filter(extra_usage=True, billed_key=payg).count() == admitted
    assert Wallet.objects.get(account=user).arrears == Decimal("0")
