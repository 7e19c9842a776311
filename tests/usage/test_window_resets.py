"""Manual 5-hour window resets (issue #22): plan data, counted per billing cycle without roll-over,
a double click spends one, auto-reset spends one when the window runs out, every reset audited."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription
from apps.usage.exceptions import QuotaExceeded
from apps.usage.models import QuotaWindow, QuotaWindowArchive
from apps.usage.services import (
    WindowResetRefused,
    five_hour_window_reset,
    meter_authorize,
    meter_usage,
    window_auto_reset_set,
)
from tests.api_keys.factories import make_key
from tests.helpers import run_concurrently
from tests.usage.factories import cent_rate, make_plan, put_on_plan

CHAT = "deepseek/deepseek-chat"
START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_seeded_resets_per_plan():
    assert dict(Plan.objects.values_list("tier", "window_resets_per_cycle")) == {
        "free": 0,
        "pro": 4,
        "max": 3,
        "ultra": 2,
    }


@pytest.fixture
def pro(user):
    """A plan with 4 resets and a 10-Flow 5-hour window at $0.01 per Flow; returns the key's secret."""
    cent_rate()
    plan = make_plan(q5h="10", weekly="1000", monthly="1000", rpm=1000)
    Plan.objects.filter(pk=plan.pk).update(window_resets_per_cycle=4)
    put_on_plan(user, plan, start=START, end=START + timedelta(days=30))
    return make_key(account=user)[1]


def _spend(secret, request_id, *, cost="0.06", now=NOW):
    meter_authorize(
        request_id=request_id, api_key=secret, model=CHAT, estimated_cost_usd=Decimal(cost), now=now
    )
    meter_usage(request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=Decimal(cost), now=now)


def _five_hour(user):
    return QuotaWindow.objects.get(account=user, kind="five_hour")


@pytest.mark.django_db
def test_a_reset_archives_the_window_and_spends_one(user, pro):
    _spend(pro, "a")
    started = _five_hour(user).started_at
    later = NOW + timedelta(hours=1)

    left = five_hour_window_reset(account=user, window_started_at=started, now=later)

    assert left == 3
    window = _five_hour(user)
    assert (window.started_at, window.used_flows, window.reserved_flows) == (None, Decimal("0"), Decimal("0"))
    archive = QuotaWindowArchive.objects.get(account=user, kind="five_hour")
    assert (archive.started_at, archive.ended_at, archive.used_flows) == (started, later, Decimal("6"))
    assert Subscription.objects.get(account=user).window_resets_remaining == 3
    event = AuditEvent.objects.get(event_type="quota.window_reset")
    assert event.details == {
        "window_started_at": started.isoformat(),
        "used_flows": "6.000000",
        "resets_remaining": 3,
        "auto": False,
    }
    # Weekly and monthly windows are not reset.
    assert QuotaWindow.objects.get(account=user, kind="weekly").used_flows == Decimal("6")


@pytest.mark.django_db
def test_an_idle_window_or_no_resets_left_refuses_and_changes_nothing(user, pro):
    with pytest.raises(WindowResetRefused) as refused:
        five_hour_window_reset(account=user, now=NOW)
    assert refused.value.code == "window_not_running"
    for index in range(4):
        _spend(pro, f"r{index}", now=NOW + timedelta(minutes=index))
        five_hour_window_reset(account=user, now=NOW + timedelta(minutes=index, seconds=30))
    _spend(pro, "last", now=NOW + timedelta(minutes=10))
    before = (
        list(QuotaWindow.objects.filter(account=user).values_list("kind", "started_at", "used_flows")),
        Subscription.objects.get(account=user).window_resets_used,
        AuditEvent.objects.filter(event_type="quota.window_reset").count(),
    )
    with pytest.raises(WindowResetRefused) as refused:
        five_hour_window_reset(account=user, now=NOW + timedelta(minutes=11))
    assert refused.value.code == "no_resets_left"
    after = (
        list(QuotaWindow.objects.filter(account=user).values_list("kind", "started_at", "used_flows")),
        Subscription.objects.get(account=user).window_resets_used,
        AuditEvent.objects.filter(event_type="quota.window_reset").count(),
    )
    assert after == before == (before[0], 4, 4)


@pytest.mark.django_db
def test_resets_are_counted_per_cycle_and_do_not_roll_over(user, pro):
    _spend(pro, "a")
    five_hour_window_reset(account=user, now=NOW)
    subscription = Subscription.objects.get(account=user)
    assert subscription.window_resets_remaining == 3
    # The next billing cycle: 4 again (not 4 + the 3 unused).
    next_start = START + timedelta(days=30)
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_start=next_start, current_period_end=next_start + timedelta(days=30)
    )
    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert subscription.window_resets_remaining == 4
    later = next_start + timedelta(days=1)
    _spend(pro, "b", now=later)
    assert five_hour_window_reset(account=user, now=later + timedelta(minutes=1)) == 3
    subscription = Subscription.objects.get(account=user)
    assert (subscription.window_resets_used, subscription.window_resets_cycle_start) == (1, next_start)


@pytest.mark.django_db
def test_free_has_no_resets(user):
    secret = make_key(account=user)[1]
    meter_authorize(request_id="f", api_key=secret, model=CHAT, estimated_cost_usd=Decimal("0.01"))
    with pytest.raises(WindowResetRefused) as refused:
        five_hour_window_reset(account=user)
    assert refused.value.code == "no_resets_left"


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_reset_spends_one(user, pro):
    _spend(pro, "a")
    started = _five_hour(user).started_at

    def click(_index):
        return five_hour_window_reset(account=user, window_started_at=started, now=NOW + timedelta(minutes=1))

    results = run_concurrently(click, 8)

    assert [r for r in results if not isinstance(r, WindowResetRefused)] == [3]
    assert {r.code for r in results if isinstance(r, WindowResetRefused)} == {"window_not_running"}
    assert Subscription.objects.get(account=user).window_resets_used == 1
    assert AuditEvent.objects.filter(event_type="quota.window_reset").count() == 1


@pytest.mark.django_db
def test_auto_reset_spends_one_when_the_window_runs_out(user, pro):
    _spend(pro, "a", cost="0.10")  # 10 Flows: the 5-hour window is full
    with pytest.raises(QuotaExceeded):
        meter_authorize(request_id="refused", api_key=pro, model=CHAT, now=NOW + timedelta(minutes=1))
    window_auto_reset_set(account=user, enabled=True)

    result = meter_authorize(
        request_id="b",
        api_key=pro,
        model=CHAT,
        estimated_cost_usd=Decimal("0.02"),
        now=NOW + timedelta(minutes=2),
    )

    assert result.decision == "subscription"
    assert Subscription.objects.get(account=user).window_resets_remaining == 3
    event = AuditEvent.objects.get(event_type="quota.window_reset")
    assert event.details["auto"] is True
    window = _five_hour(user)
    assert (window.started_at, window.reserved_flows) == (NOW + timedelta(minutes=2), Decimal("2"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_on_a_full_window_auto_reset_it_once(user, pro):
    _spend(pro, "a", cost="0.10")
    window_auto_reset_set(account=user, enabled=True)
    later = NOW + timedelta(minutes=5)

    def request(index):
        return meter_authorize(
            request_id=f"c{index}", api_key=pro, model=CHAT, estimated_cost_usd=Decimal("0.005"), now=later
        ).decision

    results = run_concurrently(request, 16)

    assert results == ["subscription"] * 16  # 16 × 0.5 Flow: the fresh window has room for all
    assert Subscription.objects.get(account=user).window_resets_used == 1
    assert _five_hour(user).reserved_flows == Decimal("8")
