from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.api_keys.models import ApiKey
from apps.usage.models import Reservation, UsageEvent
from apps.usage.selectors import quota_windows_for_account
from apps.wallet.models import LedgerEntry
from tests.wallet.factories import assert_ledger_consistent

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_bootstrap_demo_prints_the_gateway_token_and_the_key_once():
    first = run("bootstrap_demo")
    demo = User.objects.get(email="demo@flowport.local")
    key = ApiKey.objects.get(account=demo)
    assert "Gateway service token: test-gateway-token" in first
    assert "sk-ss-v1-" in first and key.prefix in first
    assert "curl -s http://127.0.0.1:8000/api/v1/gateway/authorize" in first
    second = run("bootstrap_demo")
    assert "created earlier and shown only then" in second
    assert key.prefix not in second
    assert ApiKey.objects.filter(account=demo).count() == 1


def test_simulate_traffic_uses_the_services_and_is_idempotent():
    run("bootstrap_demo")
    now = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=now):
        out = run("simulate_traffic", "--days", "2")
    demo = User.objects.get(email="demo@flowport.local")
    events = UsageEvent.objects.filter(account=demo)
    assert "demo@flowport.local:" in out
    assert events.count() > 20
    assert {"subscription", "payg"} <= set(events.values_list("billed_to", flat=True))
    assert events.order_by("created_at").first().created_at >= now - timedelta(days=2)
    assert not Reservation.objects.filter(status="active").exists()
    snapshot = (events.count(), Reservation.objects.count(), LedgerEntry.objects.count())
    with mock.patch("django.utils.timezone.now", return_value=now):
        run("simulate_traffic", "--days", "2")
    assert (events.count(), Reservation.objects.count(), LedgerEntry.objects.count()) == snapshot
    assert_ledger_consistent(demo)


def test_demo_history_lies_inside_the_demo_customers_billing_cycle():
    run("bootstrap_demo")
    run("simulate_traffic")
    demo = User.objects.get(email="demo@flowport.local")
    subscription = demo.subscription
    events = UsageEvent.objects.filter(account=demo, billed_to="subscription")
    assert events.exists()
    assert not events.filter(created_at__lt=subscription.current_period_start).exists()
    cycle_flows = sum(event.flows for event in events)
    monthly = quota_windows_for_account(account=demo)["monthly"]
    assert monthly.used_flows == cycle_flows


def test_demo_key_names_read_in_both_languages_and_old_names_are_not_duplicated():
    from apps.api_keys.models import ApiKeyKind
    from apps.api_keys.services import api_key_create

    run("bootstrap_demo")
    run("simulate_traffic", "--days", "1")
    demo = User.objects.get(email="demo@flowport.local")
    assert sorted(ApiKey.objects.filter(account=demo).values_list("name", flat=True)) == [
        "Demo subscription key · 演示订阅密钥",
        "Simulated: CI · 模拟：CI",
        "Simulated: batch jobs · 模拟：批处理",
        "Simulated: laptop · 模拟：笔记本",
    ]
    # A demo database from before keeps its English-only simulated keys: none is added next to them.
    other = User.objects.create_user("older@flowport.local", "pw-older-2026!")
    for kind, name in [
        (ApiKeyKind.SUBSCRIPTION, "Simulated: laptop"),
        (ApiKeyKind.SUBSCRIPTION, "Simulated: CI"),
        (ApiKeyKind.PAYG, "Simulated: batch jobs"),
    ]:
        api_key_create(account=other, kind=kind, name=name)
    run("simulate_traffic", "--days", "1", "--email", "older@flowport.local")
    assert ApiKey.objects.filter(account=other).count() == 3
