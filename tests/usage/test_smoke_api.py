from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.api_keys.models import ApiKey
from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage

pytestmark = pytest.mark.django_db


def test_authorize_then_usage_bills_the_subscription(user):
    cent_rate()
    put_on_plan(user, make_plan())
    key, secret = make_key(account=user)
    client = gateway_client()

    response = authorize(client, "gen_1", secret, estimate="0.05")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "success": True,
        "data": {
            "request_id": "gen_1",
            "decision": "subscription",
            "extra_usage": False,
            "account_id": user.pk,
            "key_id": key.pk,
            "reserved_flows": "5.000000",
            "rpm_remaining": 999,
        },
    }
    windows = {w.kind: w for w in QuotaWindow.objects.filter(account=user)}
    assert {k: w.reserved_flows for k, w in windows.items()} == {
        "five_hour": Decimal("5"),
        "weekly": Decimal("5"),
        "monthly": Decimal("5"),
    }
    started = windows["five_hour"].started_at
    assert windows["five_hour"].resets_at == started + timedelta(hours=5)
    assert windows["weekly"].resets_at == started + timedelta(days=7)

    response = usage(client, "gen_1", cost="0.07")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "success": True,
        "data": {
            "request_id": "gen_1",
            "billed_to": "subscription",
            "extra_usage": False,
            "flows": "7.000000",
            "cost_usd": "0.070000",
        },
    }
    windows = {w.kind: w for w in QuotaWindow.objects.filter(account=user)}
    assert {k: (w.used_flows, w.reserved_flows) for k, w in windows.items()} == {
        "five_hour": (Decimal("7"), Decimal("0")),
        "weekly": (Decimal("7"), Decimal("0")),
        "monthly": (Decimal("7"), Decimal("0")),
    }
    event = UsageEvent.objects.get()
    assert (event.flows, event.cost_usd, event.input_tokens, event.output_tokens) == (
        Decimal("7"),
        Decimal("0.07"),
        100,
        50,
    )
    key = ApiKey.objects.get(pk=key.pk)
    assert (key.used_flows, key.used_usd, key.request_count) == (Decimal("7"), Decimal("0.07"), 1)
    assert key.last_used_at is not None
    assert Reservation.objects.get().status == "settled"


def test_release_drops_the_reservation(user):
    cent_rate()
    put_on_plan(user, make_plan())
    _key, secret = make_key(account=user)
    client = gateway_client()
    assert authorize(client, "gen_2", secret).status_code == 200
    response = release(client, "gen_2")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"request_id": "gen_2", "status": "released"}}
    assert set(QuotaWindow.objects.filter(account=user).values_list("reserved_flows", flat=True)) == {
        Decimal("0")
    }
    assert timezone.now()
