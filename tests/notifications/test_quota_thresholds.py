"""Quota thresholds (issue 18): each fires exactly once per window instance, on both metering paths and
under concurrent settles; computed where usage settles (before/after), nothing scans."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.notifications.models import Notification
from apps.notifications.services import notification_settings_update
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import cent_rate, make_plan, put_on_plan

# Also on the embedded SQLite default (there every settle takes the full path).
pytestmark = pytest.mark.sqlite

CHAT = "deepseek/deepseek-chat"


@pytest.fixture(params=["fast", "full"])
def metering_path(request, settings):
    """The PostgreSQL hot path (one settle statement) and the portable full path."""
    settings.METERING_FAST_PATH = request.param == "fast"
    return request.param


@pytest.fixture
def ten_flow_window(user):
    """A 5-hour window of 10 Flows at $0.01 per Flow (so $0.01 = 1 Flow); weekly/monthly roomy."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="10", weekly="1000", monthly="1000", rpm=1000))
    return make_key(account=user)[1]


def spend(secret: str, request_id: str, cost: str, now) -> None:
    meter_authorize(
        request_id=request_id, api_key=secret, model=CHAT, estimated_cost_usd=Decimal("0.001"), now=now
    )
    meter_usage(request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=Decimal(cost), now=now)


def fired(user) -> list[tuple[str, int, str]]:
    return [
        (n.data["window"], n.data["threshold"], n.data["used_flows"])
        for n in Notification.objects.filter(account=user, kind="quota.threshold").order_by("id")
    ]


@pytest.mark.django_db
def test_each_threshold_fires_once_per_window_instance(user, ten_flow_window, metering_path):
    start = timezone.now()
    spend(ten_flow_window, "r1", "0.07", start)  # 7 of 10: below 80%
    assert fired(user) == []
    spend(ten_flow_window, "r2", "0.01", start)  # 8: crosses 80%
    spend(ten_flow_window, "r3", "0.01", start)  # 9: nothing new
    spend(ten_flow_window, "r4", "0.006", start)  # 9.6: crosses 95%
    spend(ten_flow_window, "r5", "0.004", start)  # 10: crosses 100%
    assert fired(user) == [
        ("five_hour", 80, "8.000000"),
        ("five_hour", 95, "9.600000"),
        ("five_hour", 100, "10.000000"),
    ]
    # The next 5-hour window is a new instance: its thresholds fire again, once.
    later = start + timedelta(hours=5, minutes=1)
    spend(ten_flow_window, "r6", "0.085", later)  # 8.5 in the new window: 80% again
    spend(ten_flow_window, "r7", "0.001", later)
    assert fired(user)[3:] == [("five_hour", 80, "8.500000")]
    notification = Notification.objects.filter(kind="quota.threshold").latest("id")
    assert notification.in_inbox is True
    assert notification.data["max_flows"] == "10.000000"


@pytest.mark.django_db
def test_one_settle_crossing_two_thresholds_records_both(user, ten_flow_window, metering_path):
    spend(ten_flow_window, "big", "0.097", timezone.now())  # 0 → 9.7
    assert [threshold for _window, threshold, _used in fired(user)] == [80, 95]


@pytest.mark.django_db
def test_the_accounts_own_thresholds_are_used(user, ten_flow_window, metering_path):
    notification_settings_update(account=user, channels={}, quota_thresholds=[50, 90])
    now = timezone.now()
    spend(ten_flow_window, "a", "0.05", now)  # 5: 50%
    spend(ten_flow_window, "b", "0.035", now)  # 8.5: not a threshold of this account
    spend(ten_flow_window, "c", "0.005", now)  # 9: 90%
    assert [threshold for _window, threshold, _used in fired(user)] == [50, 90]


@pytest.mark.django_db
def test_the_alert_off_in_every_channel_records_nothing(user, ten_flow_window, metering_path):
    notification_settings_update(
        account=user,
        channels={"quota.threshold": {"email": False, "inbox": False, "webhook": False}},
        quota_thresholds=[80, 95, 100],
    )
    spend(ten_flow_window, "a", "0.09", timezone.now())
    assert fired(user) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "full"])
def test_concurrent_settles_fire_each_threshold_exactly_once(settings, fast):
    from tests.accounts.factories import UserFactory

    settings.METERING_FAST_PATH = fast
    account = UserFactory()
    cent_rate()
    put_on_plan(account, make_plan(q5h="10", weekly="1000", monthly="1000", rpm=1000))
    secret = make_key(account=account)[1]
    now = timezone.now()
    threads = 20
    for index in range(threads):
        meter_authorize(
            request_id=f"c{index}", api_key=secret, model=CHAT, estimated_cost_usd=Decimal("0.001"), now=now
        )
    results = run_concurrently(
        lambda index: meter_usage(
            request_id=f"c{index}", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.005"), now=now
        ),
        threads,
    )
    assert raised(results) == []  # 20 × 0.5 Flows = 10 Flows: 80%, 95% and 100% each crossed once
    assert sorted(threshold for _window, threshold, _used in fired(account)) == [80, 95, 100]
    assert sorted(used for _window, _threshold, used in fired(account)) == [
        "10.000000",
        "8.000000",
        "9.500000",
    ]


@pytest.mark.django_db
def test_quota_emails_are_off_by_default_and_sent_when_chosen(
    user, ten_flow_window, metering_path, django_capture_on_commit_callbacks
):
    from django.core import mail

    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        spend(ten_flow_window, "a", "0.08", now)  # 80%: inbox only by default
    assert mail.outbox == []
    notification_settings_update(
        account=user,
        channels={"quota.threshold": {"email": True, "inbox": True, "webhook": True}},
        quota_thresholds=[80, 95, 100],
    )
    with django_capture_on_commit_callbacks(execute=True):
        spend(ten_flow_window, "b", "0.015", now)  # 9.5 of 10: 95%
    assert [message.subject for message in mail.outbox] == [
        "Flowport: You have used 95% of your 5-hour window"
    ]
    assert "9.5 of 10 Flows used in your 5-hour window" in mail.outbox[0].body
