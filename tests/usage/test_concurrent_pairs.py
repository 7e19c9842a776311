"""16 gateway clients at once, each an authorize + usage pair: every call answers 200 and the totals are exact.

In the SQLite tier this is the embedded default under a threaded server: without IMMEDIATE transactions and
a busy timeout most of these calls fail with "database is locked", and the PostgreSQL-only window write
would fail every subscription call.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.api_keys.models import ApiKeyKind
from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, usage
from tests.wallet.factories import assert_ledger_consistent, credit

PAIRS = 16


def cost_of(index: int) -> Decimal:
    return Decimal(index + 1) / 1000  # $0.001 … $0.016


@pytest.mark.django_db(transaction=True)
def test_16_concurrent_authorize_usage_pairs_all_succeed_with_exact_totals(user):
    cent_rate()  # $0.01 per Flow
    put_on_plan(user, make_plan(q5h="100", weekly="100", monthly="100", rpm=10_000))
    _key, subscription_secret = make_key(account=user)
    _pkey, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="p")
    credit(user, "1.00")  # room for all 8 pay-as-you-go estimates of $0.05
    barrier = threading.Barrier(PAIRS)
    statuses: dict[int, tuple[int, int]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def pair(index: int):
        try:
            client = gateway_client()
            secret = subscription_secret if index < PAIRS // 2 else payg_secret
            barrier.wait(timeout=30)
            first = authorize(client, f"pair-{index}", secret, estimate="0.05")
            second = usage(client, f"pair-{index}", cost=str(cost_of(index)))
            with lock:
                statuses[index] = (first.status_code, second.status_code)
        except BaseException as error:  # surfaced below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pair, args=(i,)) for i in range(PAIRS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert statuses == {i: (200, 200) for i in range(PAIRS)}

    # Subscription: $0.001 … $0.008 at $0.01 per Flow = 0.1 + … + 0.8 = 3.6 Flows in every window.
    assert UsageEvent.objects.filter(billed_to="subscription").count() == PAIRS // 2
    windows = {w.kind: (w.used_flows, w.reserved_flows) for w in QuotaWindow.objects.filter(account=user)}
    flows = (Decimal("3.6"), Decimal("0"))
    assert windows == {"five_hour": flows, "weekly": flows, "monthly": flows}

    # Pay-as-you-go: $0.009 + … + $0.016 = $0.100 debited from $1.00, nothing left reserved.
    assert not Reservation.objects.filter(status="active").exists()
    wallet = Wallet.objects.get(account=user)
    assert (wallet.total_balance, wallet.reserved_usd) == (Decimal("0.900000"), Decimal("0"))
    usage_entries = LedgerEntry.objects.filter(wallet=wallet, entry_type="usage")
    assert sorted(-amount for amount in usage_entries.values_list("amount", flat=True)) == [
        cost_of(i) for i in range(PAIRS // 2, PAIRS)
    ]
    assert_ledger_consistent(user)
