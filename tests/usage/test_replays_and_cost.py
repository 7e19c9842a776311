"""Replays have the effect of one call; costs from list prices; stale reservations; roll job."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKey
from apps.core.models import AuditEvent
from apps.plans.models import CatalogModel
from apps.usage.exceptions import MeteringRefused
from apps.usage.models import QuotaWindow, QuotaWindowArchive, Reservation, UsageEvent
from apps.usage.services import (
    meter_authorize,
    meter_release,
    meter_usage,
    quota_windows_roll_expired,
    reservations_release_stale,
)
from apps.usage.tasks import release_stale_reservations, roll_expired_windows
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage

pytestmark = pytest.mark.django_db
MODEL = "deepseek/deepseek-chat"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def secret(user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=3), start=T0 - timedelta(days=1))
    return make_key(account=user)[1]


def windows(user):
    return {w.kind: (w.used_flows, w.reserved_flows) for w in QuotaWindow.objects.filter(account=user)}


def test_authorize_replay_reserves_nothing_more_and_takes_no_rpm_slot(user, secret):
    client = gateway_client()
    first = authorize(client, "rep", secret, estimate="0.05")
    assert first.status_code == 200
    for _ in range(5):  # more replays than the plan's RPM of 3
        again = authorize(client, "rep", secret, estimate="0.09")
        assert again.status_code == 200
        assert again.json() == first.json()
    assert windows(user) == {k: (Decimal("0"), Decimal("5")) for k in ("five_hour", "weekly", "monthly")}
    assert Reservation.objects.count() == 1
    # Only one RPM slot was used: two more distinct requests fit in the minute.
    assert authorize(client, "other1", secret, estimate="0.01").json()["data"]["rpm_remaining"] == 1
    assert authorize(client, "other2", secret, estimate="0.01").json()["data"]["rpm_remaining"] == 0


def test_usage_replay_returns_the_first_result_and_bills_nothing(user, secret):
    client = gateway_client()
    authorize(client, "rep", secret)
    first = usage(client, "rep", cost="0.03")
    assert first.status_code == 200
    second = usage(client, "rep", cost="0.04", input_tokens=9)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert UsageEvent.objects.count() == 1
    assert windows(user) == {k: (Decimal("3"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}
    key = ApiKey.objects.get(account=user)
    assert (key.used_flows, key.used_usd, key.request_count) == (Decimal("3"), Decimal("0.03"), 1)
    # Releasing a settled request changes nothing either.
    response = release(client, "rep")
    assert response.status_code == 200
    assert response.json()["data"] == {"request_id": "rep", "status": "settled"}
    assert windows(user) == {k: (Decimal("3"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}


def test_release_replay_is_a_no_op(user, secret):
    client = gateway_client()
    authorize(client, "rel", secret)
    assert release(client, "rel").json()["data"] == {"request_id": "rel", "status": "released"}
    assert release(client, "rel").json()["data"] == {"request_id": "rel", "status": "released"}
    assert windows(user) == {k: (Decimal("0"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}
    # An authorize replay after release still returns the first decision and reserves nothing.
    assert authorize(client, "rel", secret).status_code == 200
    assert windows(user) == {k: (Decimal("0"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}


def test_cost_from_list_prices(user, secret):
    CatalogModel.objects.filter(slug=MODEL).update(
        input_usd_per_mtok=Decimal("0.28"),
        output_usd_per_mtok=Decimal("0.42"),
        usd_per_request=Decimal("0.001"),
    )
    meter_authorize(request_id="lp", api_key=secret, model=MODEL, now=T0)
    result = meter_usage(request_id="lp", input_tokens=12_345, output_tokens=6_789, now=T0)
    # 12345 × 0.28 / 1e6 + 6789 × 0.42 / 1e6 + 0.001 = 0.0034566 + 0.00285138 + 0.001 = 0.00730798
    assert result.cost_usd == Decimal("0.007308")
    assert result.flows == Decimal("0.730800")
    assert UsageEvent.objects.get().cost_usd == Decimal("0.007308")


def test_model_without_list_prices_needs_cost_usd(user, secret):
    CatalogModel.objects.filter(slug=MODEL).update(
        input_usd_per_mtok=None, output_usd_per_mtok=None, usd_per_request=None
    )
    client = gateway_client()
    authorize(client, "np", secret)
    before = windows(user)
    response = usage(client, "np", cost=None)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("400", "invalid_params")
    assert MODEL in error["message"]
    assert windows(user) == before
    assert not UsageEvent.objects.exists()
    assert Reservation.objects.get().status == "active"
    assert usage(client, "np", cost="0.01").status_code == 200  # the gateway can still settle it


def test_actual_cost_larger_than_estimate_replaces_it(user, secret):
    meter_authorize(request_id="big", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.01"), now=T0)
    meter_usage(request_id="big", input_tokens=0, output_tokens=0, cost_usd=Decimal("0.08"), now=T0)
    assert windows(user) == {k: (Decimal("8"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}


def test_stale_reservation_released_after_15_minutes_not_before(user, secret):
    meter_authorize(
        request_id="stale", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=T0
    )
    assert reservations_release_stale(now=T0 + timedelta(minutes=14, seconds=59)) == 0
    assert Reservation.objects.get().status == "active"
    assert windows(user)["five_hour"] == (Decimal("0"), Decimal("5"))
    assert reservations_release_stale(now=T0 + timedelta(minutes=15)) == 1
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.settled_at) == ("released", T0 + timedelta(minutes=15))
    assert windows(user) == {k: (Decimal("0"), Decimal("0")) for k in ("five_hour", "weekly", "monthly")}
    assert reservations_release_stale(now=T0 + timedelta(minutes=16)) == 0
    with pytest.raises(MeteringRefused) as refused:
        meter_usage(request_id="stale", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.01"))
    assert refused.value.code == "not_authorized"


def test_stale_release_task_uses_the_clock(user, secret):
    meter_authorize(request_id="old", api_key=secret, model=MODEL)
    assert release_stale_reservations.apply().get() == 0  # created just now
    Reservation.objects.update(created_at=Reservation.objects.get().created_at - timedelta(minutes=16))
    assert release_stale_reservations.apply().get() == 1
    assert Reservation.objects.get().status == "released"


def test_roll_job_archives_idle_windows_once_with_one_event(user, secret):
    meter_authorize(request_id="r", api_key=secret, model=MODEL, now=T0)
    meter_usage(request_id="r", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.02"), now=T0)
    assert quota_windows_roll_expired(now=T0 + timedelta(hours=4)) == 0
    assert quota_windows_roll_expired(now=T0 + timedelta(hours=5)) == 1
    assert quota_windows_roll_expired(now=T0 + timedelta(hours=6)) == 0
    archive = QuotaWindowArchive.objects.get()
    assert (archive.kind, archive.started_at, archive.ended_at, archive.used_flows) == (
        "five_hour",
        T0,
        T0 + timedelta(hours=5),
        Decimal("2"),
    )
    five = QuotaWindow.objects.get(account=user, kind="five_hour")
    assert (five.started_at, five.resets_at, five.used_flows) == (None, None, Decimal("0"))
    events = AuditEvent.objects.filter(event_type="quota.restored")
    assert events.count() == 1
    assert events.get().details["window"] == "five_hour"
    # A lazy check afterwards does not archive or announce it again.
    meter_authorize(request_id="r2", api_key=secret, model=MODEL, now=T0 + timedelta(hours=7))
    assert AuditEvent.objects.filter(event_type="quota.restored").count() == 1
    assert roll_expired_windows.apply().get() >= 0


def test_release_of_a_window_that_rolled_leaves_the_new_window_alone(user, secret):
    meter_authorize(request_id="a", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=T0)
    later = T0 + timedelta(hours=5, minutes=1)
    meter_authorize(
        request_id="b", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.03"), now=later
    )
    meter_release(request_id="a", now=later)
    assert windows(user)["five_hour"] == (Decimal("0"), Decimal("3"))
    assert windows(user)["weekly"] == (Decimal("0"), Decimal("3"))


def test_flows_use_the_effective_rate_of_an_abusive_account(user, secret):
    type(user).objects.filter(pk=user.pk).update(status="abusive")  # multiplier capped at 0.8
    authorized = meter_authorize(
        request_id="ab", api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.04"), now=T0
    )
    assert authorized.reserved_flows == Decimal("5.000000")  # $0.04 / ($0.01 × 0.8)
    result = meter_usage(request_id="ab", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.05"), now=T0)
    assert result.flows == Decimal("6.250000")
    assert windows(user)["five_hour"] == (Decimal("6.25"), Decimal("0"))
