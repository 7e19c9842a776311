"""Window arithmetic with a controllable clock (`now` passed into the services)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.usage.exceptions import MeteringRefused
from apps.usage.models import QuotaWindow, QuotaWindowArchive, UsageEvent
from apps.usage.selectors import quota_windows_for_account
from apps.usage.services import meter_authorize, meter_release, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "deepseek/deepseek-chat"


@pytest.fixture
def secret(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="10", weekly="30", monthly="50"), start=T0 - timedelta(days=1))
    return make_key(account=user)[1]


_counter = iter(range(1_000_000))


def call(secret, now, *, estimate="0.01", cost="0.05"):
    """One authorize + usage pair at `now`; returns the usage result."""
    request_id = f"w{next(_counter)}"
    meter_authorize(
        request_id=request_id, api_key=secret, model=MODEL, estimated_cost_usd=Decimal(estimate), now=now
    )
    return meter_usage(
        request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=Decimal(cost), now=now
    )


def windows(user, now):
    return quota_windows_for_account(account=user, now=now)


def test_first_request_starts_the_five_hour_window(user, secret):
    assert windows(user, T0)["five_hour"].resets_at is None  # idle before any request
    call(secret, T0)
    view = windows(user, T0 + timedelta(minutes=1))
    assert view["five_hour"].started_at == T0
    assert view["five_hour"].resets_at == T0 + timedelta(hours=5)
    assert view["weekly"].resets_at == T0 + timedelta(days=7)
    assert view["five_hour"].used_flows == Decimal("5")
    # A later request in the same window does not move it.
    call(secret, T0 + timedelta(hours=4, minutes=59))
    row = QuotaWindow.objects.get(account=user, kind="five_hour")
    assert (row.started_at, row.resets_at, row.used_flows) == (T0, T0 + timedelta(hours=5), Decimal("10"))


def test_five_hour_window_idles_at_reset_and_weekly_keeps_counting(user, secret):
    call(secret, T0)
    call(secret, T0 + timedelta(hours=1))
    at_reset = T0 + timedelta(hours=5)
    view = windows(user, at_reset)
    assert view["five_hour"].resets_at is None
    assert view["five_hour"].started_at is None
    assert view["five_hour"].used_flows == Decimal("0")
    assert view["five_hour"].remaining_flows == Decimal("10")
    assert view["weekly"].used_flows == Decimal("10")
    assert view["weekly"].resets_at == T0 + timedelta(days=7)
    # The next request starts a new 5-hour window at its own time; the finished one is archived once.
    later = at_reset + timedelta(minutes=30)
    call(secret, later)
    five = QuotaWindow.objects.get(account=user, kind="five_hour")
    assert (five.started_at, five.resets_at, five.used_flows) == (
        later,
        later + timedelta(hours=5),
        Decimal("5"),
    )
    weekly = QuotaWindow.objects.get(account=user, kind="weekly")
    assert (weekly.started_at, weekly.used_flows) == (T0, Decimal("15"))
    archive = QuotaWindowArchive.objects.get(account=user, kind="five_hour")
    assert (archive.started_at, archive.ended_at, archive.used_flows) == (T0, at_reset, Decimal("10"))
    assert AuditEvent.objects.filter(account=user, event_type="quota.restored").count() == 1


def test_five_hour_quota_refuses_until_reset(user, secret):
    call(secret, T0, cost="0.10")  # 10 Flows: the 5-hour window is full
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(request_id="x", api_key=secret, model=MODEL, now=T0 + timedelta(hours=4))
    assert (refused.value.status, refused.value.code) == (402, "quota_exceeded")
    assert refused.value.resets_at == T0 + timedelta(hours=5)
    call(secret, T0 + timedelta(hours=5))  # admitted again at the reset


def test_weekly_window_refuses_with_its_reset(user, secret):
    for hours in (0, 5, 10):
        call(secret, T0 + timedelta(hours=hours), cost="0.10")  # 30 Flows over three 5-hour windows
    now = T0 + timedelta(hours=15)
    assert windows(user, now)["five_hour"].used_flows == Decimal("0")
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(request_id="x", api_key=secret, model=MODEL, now=now)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.resets_at == T0 + timedelta(days=7)


def test_monthly_cap_refuses_even_when_both_windows_have_room(user, secret):
    # 50 Flows a month; 5 Flows per call, one call per 5-hour window, two weeks apart per 25 Flows.
    for day in range(5):
        call(secret, T0 + timedelta(days=day), cost="0.05")
    for day in range(5):
        call(secret, T0 + timedelta(days=8 + day), cost="0.05")
    now = T0 + timedelta(days=16)
    view = windows(user, now)
    assert view["five_hour"].used_flows == Decimal("0")
    assert view["weekly"].used_flows == Decimal("0")
    assert view["monthly"].used_flows == Decimal("50")
    assert view["monthly"].remaining_flows == Decimal("0")
    subscription = Subscription.objects.get(account=user)
    with pytest.raises(MeteringRefused) as refused:
        meter_authorize(request_id="m", api_key=secret, model=MODEL, now=now)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.resets_at == subscription.current_period_end


def test_new_billing_period_starts_a_fresh_monthly_window(user, secret):
    call(secret, T0, cost="0.05")
    subscription = Subscription.objects.get(account=user)
    new_start = subscription.current_period_end
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_start=new_start, current_period_end=new_start + timedelta(days=30)
    )
    view = windows(user, new_start + timedelta(hours=1))
    assert view["monthly"].used_flows == Decimal("0")
    assert view["monthly"].resets_at == new_start + timedelta(days=30)
    call(secret, new_start + timedelta(hours=1), cost="0.02")
    monthly = QuotaWindow.objects.get(account=user, kind="monthly")
    assert (monthly.started_at, monthly.used_flows) == (new_start, Decimal("2"))
    archive = QuotaWindowArchive.objects.get(account=user, kind="monthly")
    assert (archive.started_at, archive.ended_at, archive.used_flows) == (
        subscription.current_period_start,
        new_start,
        Decimal("5"),
    )


def test_plan_upgrade_applies_new_maxima_at_once_and_keeps_used(user, secret):
    call(secret, T0, cost="0.10")  # the 10-Flow 5-hour window is full
    with pytest.raises(MeteringRefused):
        meter_authorize(request_id="u0", api_key=secret, model=MODEL, now=T0 + timedelta(minutes=1))
    bigger = make_plan(tier="bigger", rank=11, q5h="20", weekly="60", monthly="100")
    Subscription.objects.filter(account=user).update(plan=bigger)
    view = windows(user, T0 + timedelta(minutes=2))
    assert (view["five_hour"].max_flows, view["five_hour"].used_flows) == (Decimal("20"), Decimal("10"))
    assert view["five_hour"].remaining_flows == Decimal("10")
    call(secret, T0 + timedelta(minutes=2), cost="0.03")
    assert QuotaWindow.objects.get(account=user, kind="five_hour").used_flows == Decimal("13")


def test_crossing_request_is_admitted_and_recorded_in_full(user, secret):
    call(secret, T0, cost="0.09")  # 9 of 10
    result = call(secret, T0 + timedelta(minutes=1), estimate="0.01", cost="0.04")  # room: 9 < 10
    assert result.flows == Decimal("4")
    view = windows(user, T0 + timedelta(minutes=2))
    assert view["five_hour"].used_flows == Decimal("13")
    assert view["five_hour"].remaining_flows == Decimal("0")
    assert view["five_hour"].usage_percentage == Decimal("1.0000")


def test_reservations_count_against_room(user, secret):
    meter_authorize(request_id="big", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.10"), now=T0)
    with pytest.raises(MeteringRefused):  # used 0 + reserved 10 is not < 10
        meter_authorize(request_id="next", api_key=secret, model=MODEL, now=T0)
    meter_release(request_id="big", now=T0)
    assert meter_authorize(request_id="next", api_key=secret, model=MODEL, now=T0).decision == "subscription"


def test_settling_after_the_window_rolled_goes_to_its_archive(user, secret):
    meter_authorize(
        request_id="slow", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.02"), now=T0
    )
    later = T0 + timedelta(hours=6)
    call(secret, later, cost="0.03")  # the 5-hour window rolled and restarted at `later`
    meter_usage(request_id="slow", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.04"), now=later)
    five = QuotaWindow.objects.get(account=user, kind="five_hour")
    assert (five.started_at, five.used_flows, five.reserved_flows) == (later, Decimal("3"), Decimal("0"))
    archive = QuotaWindowArchive.objects.get(account=user, kind="five_hour", started_at=T0)
    assert archive.used_flows == Decimal("4")
    weekly = QuotaWindow.objects.get(account=user, kind="weekly")
    assert (weekly.used_flows, weekly.reserved_flows) == (Decimal("7"), Decimal("0"))
    # Each window's used total (live or archived) is exactly the sum of the events settled into it.
    total = sum(UsageEvent.objects.values_list("flows", flat=True))
    assert five.used_flows + archive.used_flows == total


def test_selector_values(user, secret):
    call(secret, T0, cost="0.025")  # 2.5 Flows at $0.01
    view = windows(user, T0 + timedelta(minutes=1))
    five = view["five_hour"]
    assert five.max_flows == Decimal("10.000000")
    assert five.used_flows == Decimal("2.500000")
    assert five.reserved_flows == Decimal("0")
    assert five.remaining_flows == Decimal("7.500000")
    assert five.usage_percentage == Decimal("0.2500")
    assert five.used_value_usd == Decimal("0.03")  # $0.025 to the cent, half-up
    assert five.max_value_usd == Decimal("0.10")
    monthly = view["monthly"]
    assert monthly.max_flows == Decimal("50.000000")
    assert monthly.usage_percentage == Decimal("0.0500")
    assert monthly.resets_at == Subscription.objects.get(account=user).current_period_end


def test_selector_for_a_fresh_account(user):
    view = quota_windows_for_account(account=user, now=T0)
    assert [v.resets_at for v in (view["five_hour"], view["weekly"])] == [None, None]
    assert view["five_hour"].max_flows == Decimal("5.000000")  # Free
    assert view["five_hour"].usage_percentage == Decimal("0.0000")
    assert view["five_hour"].remaining_flows == Decimal("5.000000")


def test_free_period_rolled_lazily_matches_the_renewal_job(user):
    """A Free period that ended is counted in the period containing now, exactly as the job rolls it."""
    from apps.plans.services import subscription_renew_due

    cent_rate()
    start = T0 - timedelta(days=75)
    Subscription.objects.filter(account=user).update(
        current_period_start=start, current_period_end=start + timedelta(days=31)
    )
    secret = make_key(account=user)[1]
    now = T0
    call(secret, now, cost="0.02")
    lazy = QuotaWindow.objects.get(account=user, kind="monthly")
    assert lazy.started_at <= now < lazy.resets_at
    assert lazy.used_flows == Decimal("2")
    subscription_renew_due(now=now)
    subscription = Subscription.objects.get(account=user)
    assert (subscription.current_period_start, subscription.current_period_end) == (
        lazy.started_at,
        lazy.resets_at,
    )
    call(secret, now + timedelta(minutes=1), cost="0.01")
    monthly = QuotaWindow.objects.get(account=user, kind="monthly")
    assert (monthly.started_at, monthly.used_flows) == (lazy.started_at, Decimal("3"))  # no second roll
