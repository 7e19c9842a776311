"""Extra Usage in the metering engine: an exhausted window bills the wallet through the chosen key."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.extra_usage.services import extra_usage_enable
from apps.usage.exceptions import MeteringRefused
from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from apps.usage.selectors import extra_usage_active_since, extra_usage_spent, quota_windows_for_account
from apps.usage.services import meter_authorize, meter_usage
from apps.wallet.models import CreditGrant, LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan
from tests.wallet.factories import assert_ledger_consistent, credit

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "deepseek/deepseek-chat"


@pytest.fixture
def keys(user):
    cent_rate()  # $0.01 per Flow: $0.05 = 5 Flows
    put_on_plan(user, make_plan(q5h="10", weekly="100", monthly="200"), start=T0 - timedelta(days=1))
    sub, sub_secret = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    return sub, sub_secret, payg


_ids = iter(range(1_000_000))


def call(secret, now, cost="0.05", estimate="0.05"):
    request_id = f"x{next(_ids)}"
    meter_authorize(
        request_id=request_id, api_key=secret, model=MODEL, estimated_cost_usd=Decimal(estimate), now=now
    )
    return meter_usage(
        request_id=request_id, input_tokens=10, output_tokens=5, cost_usd=Decimal(cost), now=now
    )


def exhaust(secret):
    """Two $0.05 requests fill the 10-Flow 5-hour window."""
    call(secret, T0)
    call(secret, T0 + timedelta(minutes=1))


def test_extra_usage_bills_the_wallet_through_the_chosen_key_bonus_first(user, keys):
    sub, secret, payg = keys
    credit(user, "5.00")  # top-up credits
    credit(user, "0.03", source_type="bonus")  # bonus credits are spent first
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    exhaust(secret)
    windows = QuotaWindow.objects.get(account=user, kind="five_hour")
    assert windows.used_flows == Decimal("10")

    now = T0 + timedelta(minutes=5)
    result = meter_authorize(
        request_id="over-1", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.04"), now=now
    )
    assert (result.decision, result.extra_usage, result.key_id) == ("payg", True, sub.pk)
    assert result.reserved_usd == Decimal("0.04")
    reservation = Reservation.objects.get(request_id="over-1")
    assert (reservation.api_key_id, reservation.billed_key_id) == (sub.pk, payg.pk)
    assert Wallet.objects.get(account=user).reserved_usd == Decimal("0.04")
    # The windows reserve nothing for it.
    assert QuotaWindow.objects.get(account=user, kind="five_hour").reserved_flows == Decimal("0")

    usage = meter_usage(
        request_id="over-1", input_tokens=10, output_tokens=5, cost_usd=Decimal("0.05"), now=now
    )
    assert (usage.billed_to, usage.extra_usage, usage.flows, usage.cost_usd) == (
        "payg",
        True,
        Decimal("0"),
        Decimal("0.05"),
    )
    event = UsageEvent.objects.get(request_id="over-1")
    assert (event.api_key_id, event.billed_key_id, event.extra_usage) == (sub.pk, payg.pk, True)
    entry = LedgerEntry.objects.get(idempotency_key="usage:over-1")
    assert (entry.entry_type, entry.amount, entry.api_key_id) == ("usage", Decimal("-0.05"), payg.pk)
    assert (entry.bonus_delta, entry.top_up_delta) == (Decimal("-0.03"), Decimal("-0.02"))
    grants = {g.source_type: g.remaining for g in CreditGrant.objects.filter(wallet__account=user)}
    assert grants == {"top_up": Decimal("4.98"), "bonus": Decimal("0.00")}
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.reserved_usd) == (Decimal("4.98"), Decimal("0"))
    # The pay-as-you-go key paid; the subscription key's Flows did not move.
    payg.refresh_from_db()
    sub.refresh_from_db()
    assert (payg.used_usd, payg.request_count, payg.last_used_at) == (Decimal("0.05"), 1, now)
    assert (sub.used_flows, sub.request_count) == (Decimal("10"), 2)
    assert QuotaWindow.objects.get(account=user, kind="five_hour").used_flows == Decimal("10")
    assert extra_usage_spent(account=user, key=payg) == Decimal("0.05")
    active = extra_usage_active_since(
        account=user, windows=quota_windows_for_account(account=user, now=now), now=now
    )
    assert (active.since, active.key_name) == (now, "production-app")

    # After the reset (T0 + 5 h) the next request goes back to the subscription, with no action.
    later = T0 + timedelta(hours=5)
    back = meter_authorize(
        request_id="back-1", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=later
    )
    assert (back.decision, back.extra_usage) == ("subscription", False)
    meter_usage(request_id="back-1", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.05"), now=later)
    assert UsageEvent.objects.get(request_id="back-1").billed_key_id is None
    assert LedgerEntry.objects.filter(entry_type="usage").count() == 1
    assert Wallet.objects.get(account=user).total_balance == Decimal("4.98")
    views = quota_windows_for_account(account=user, now=later)
    assert (views["five_hour"].used_flows, views["five_hour"].started_at) == (Decimal("5"), later)
    assert extra_usage_active_since(account=user, windows=views, now=later) is None


def snapshot(user):
    return {
        "wallet": list(Wallet.objects.filter(account=user).values()),
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "reservations": list(Reservation.objects.order_by("pk").values()),
        "events": list(UsageEvent.objects.order_by("pk").values()),
    }


def test_without_extra_usage_an_exhausted_window_refuses_with_402_and_bills_nothing(user, keys):
    _sub, secret, _payg = keys
    credit(user, "5.00")
    exhaust(secret)
    before = snapshot(user)
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(
            request_id="no-1",
            api_key=secret,
            model=MODEL,
            estimated_cost_usd=Decimal("0.05"),
            now=T0 + timedelta(minutes=5),
        )
    assert (refused.value.status, refused.value.code) == (402, "quota_exceeded")
    assert refused.value.resets_at == T0 + timedelta(hours=5)
    assert snapshot(user) == before


def test_extra_usage_with_an_empty_wallet_refuses_with_quota_exceeded(user, keys):
    _sub, secret, payg = keys
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    exhaust(secret)
    before = snapshot(user)
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(
            request_id="empty-1",
            api_key=secret,
            model=MODEL,
            estimated_cost_usd=Decimal("0.05"),
            now=T0 + timedelta(minutes=5),
        )
    assert (refused.value.status, refused.value.code) == (402, "quota_exceeded")
    assert snapshot(user) == before


def test_extra_usage_is_not_used_while_the_windows_have_room(user, keys):
    _sub, secret, payg = keys
    credit(user, "5.00")
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    result = meter_authorize(
        request_id="room-1", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=T0
    )
    assert (result.decision, result.extra_usage) == ("subscription", False)
    assert Wallet.objects.get(account=user).reserved_usd == Decimal("0")


def test_released_extra_usage_request_returns_its_wallet_reservation(user, keys):
    from apps.usage.services import meter_release

    _sub, secret, payg = keys
    credit(user, "1.00")
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    exhaust(secret)
    now = T0 + timedelta(minutes=3)
    meter_authorize(
        request_id="rel-1", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.30"), now=now
    )
    assert Wallet.objects.get(account=user).reserved_usd == Decimal("0.30")
    assert meter_release(request_id="rel-1", now=now).released is True
    wallet = Wallet.objects.get(account=user)
    assert (wallet.reserved_usd, wallet.total_balance) == (Decimal("0"), Decimal("1.00"))
    assert not LedgerEntry.objects.filter(entry_type="usage").exists()
    assert extra_usage_spent(account=user, key=payg) == Decimal("0")
    # A released reservation is not "billing through Extra Usage".
    views = quota_windows_for_account(account=user, now=now)
    assert extra_usage_active_since(account=user, windows=views, now=now) is None


def test_an_exhausted_weekly_window_also_bills_through_extra_usage(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="100", weekly="10", monthly="200"), start=T0 - timedelta(days=1))
    _sub, secret = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    credit(user, "1.00")
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    call(secret, T0)
    call(secret, T0 + timedelta(hours=6))  # a new 5-hour window, the same week: the week is now full
    result = meter_authorize(
        request_id="week-1",
        api_key=secret,
        model=MODEL,
        estimated_cost_usd=Decimal("0.05"),
        now=T0 + timedelta(hours=12),
    )
    assert (result.decision, result.extra_usage) == ("payg", True)
    back = meter_authorize(
        request_id="week-2",
        api_key=secret,
        model=MODEL,
        estimated_cost_usd=Decimal("0.05"),
        now=T0 + timedelta(days=7),
    )
    assert (back.decision, back.extra_usage) == ("subscription", False)
