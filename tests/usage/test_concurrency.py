"""64 concurrent gateway clients against one account on PostgreSQL: no window overdrawn, sums exact."""

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.usage.models import QuotaWindow, QuotaWindowArchive, Reservation, UsageEvent
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage

CLIENTS = 64
MAX_REQUEST_FLOWS = Decimal("5")  # every estimate is $0.05 = 5 Flows and covers the actual cost


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_never_overdraw_and_sums_stay_exact(user):
    cent_rate()
    plan = make_plan(q5h="60", weekly="80", monthly="200", rpm=10_000)
    put_on_plan(user, plan)
    secrets = [make_key(account=user, name=f"k{i}")[1] for i in range(4)]
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[tuple[str, int, int | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client_thread(index: int):
        rng = random.Random(index)
        try:
            client = gateway_client()
            request_id = f"c{index}"
            barrier.wait(timeout=30)
            first = authorize(client, request_id, secrets[index % 4], estimate="0.05")
            second = None
            if first.status_code == 200:
                if index % 8 == 7:
                    second = release(client, request_id).status_code
                else:
                    cost = str(Decimal(rng.randint(1, 50)) / 1000)  # $0.001 – $0.050
                    second = usage(client, request_id, cost=cost).status_code
            with lock:
                outcomes.append((request_id, first.status_code, second))
        except BaseException as error:  # surfaced below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(outcomes) == CLIENTS
    statuses = {first for _id, first, _second in outcomes}
    assert statuses <= {200, 402}
    admitted = [o for o in outcomes if o[1] == 200]
    refused = [o for o in outcomes if o[1] == 402]
    assert admitted and refused  # the small 5-hour window (60 Flows, 12 estimates) refuses some
    assert all(second == 200 for _id, _first, second in admitted)

    assert not Reservation.objects.filter(status="active").exists()
    assert Reservation.objects.count() == len(admitted)
    assert not Reservation.objects.filter(request_id__in=[o[0] for o in refused]).exists()
    events_total = sum(UsageEvent.objects.values_list("flows", flat=True), Decimal("0"))
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
