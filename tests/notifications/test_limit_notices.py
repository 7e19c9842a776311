"""Threshold and refusal notices for per-key spend limits and account spend caps (issue #22 through the
notification channels of issue #18): each threshold once per key (or cap) period, computed where the spend
settles by comparing before and after (no query below the alert range, no ledger sum per settle), once
under concurrent settles; a refusal notice at most once per key or cap period."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_set_limits
from apps.core.periods import calendar_period
from apps.notifications import services as notification_services
from apps.notifications.models import Notification
from apps.notifications.services import notification_settings_update
from apps.usage.exceptions import KeyLimitExceeded
from apps.usage.services import meter_authorize, meter_usage
from apps.wallet.exceptions import SpendCapReached
from apps.wallet.models import Wallet
from apps.wallet.services import wallet_spend_caps_update
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import cent_rate, make_plan, put_on_plan
from tests.wallet.factories import credit

CHAT = "deepseek/deepseek-chat"


@pytest.fixture(autouse=True)
def _fresh_refusal_cache():
    notification_services._REFUSED_SEEN.clear()
    yield
    notification_services._REFUSED_SEEN.clear()


def _limit(account, key, spend, period="day"):
    api_key_set_limits(
        account=account,
        key_id=key.pk,
        spend_limit=D(spend),
        spend_limit_period=period,
        allowed_models=[],
        rpm_limit=None,
    )


def _caps(account, day=None, week=None, month=None):
    wallet_spend_caps_update(
        account=account,
        spend_cap_day=D(day) if day else None,
        spend_cap_week=D(week) if week else None,
        spend_cap_month=D(month) if month else None,
        auto_topup_monthly_max=None,
    )


def spend(secret, request_id, cost, now=None, estimate="0.001"):
    now = now or timezone.now()
    meter_authorize(
        request_id=request_id, api_key=secret, model=CHAT, estimated_cost_usd=D(estimate), now=now
    )
    return meter_usage(request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=D(cost), now=now)


def notices(account, kind):
    return list(
        Notification.objects.filter(account=account, kind=kind).order_by("id").values_list("data", flat=True)
    )


@pytest.fixture
def flow_key(user):
    """A subscription key with a spend limit of 10 Flows per day ($0.01 = 1 Flow; roomy windows)."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=1000))
    key, secret = make_key(account=user, name="ci")
    _limit(user, key, "10")
    return key, secret


@pytest.fixture
def payg_key(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="batch")
    credit(user, "100")
    return key, secret


# --- key spend limits -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_key_limit_threshold_fires_once_per_period(user, flow_key):
    key, secret = flow_key
    now = timezone.now()
    start, end = calendar_period(period="day", now=now)
    spend(secret, "r1", "0.07", now)  # 7 of 10 Flows
    assert notices(user, "limits.key_threshold") == []
    spend(secret, "r2", "0.01", now)  # 8: 80%
    spend(secret, "r3", "0.01", now)  # 9: nothing new
    spend(secret, "r4", "0.006", now)  # 9.6: 95%
    spend(secret, "r5", "0.004", now)  # 10: 100%
    fired = notices(user, "limits.key_threshold")
    assert [(d["threshold"], d["used"]) for d in fired] == [
        (80, "8.000000"),
        (95, "9.600000"),
        (100, "10.000000"),
    ]
    assert fired[0] == {
        "threshold": 80,
        "key_name": "ci",
        "unit": "Flows",
        "period": "day",
        "used": "8.000000",
        "limit": "10.000000",
        "period_start": start.isoformat(),
        "resets_at": end.isoformat(),
    }
    assert sorted(
        Notification.objects.filter(kind="limits.key_threshold").values_list("dedupe_key", flat=True)
    ) == [f"key_limit:{key.pk}:{start.isoformat()}:{threshold}" for threshold in (100, 80, 95)]
    # The next day is a new period: its thresholds fire again, once.
    tomorrow = end + timedelta(hours=1)
    spend(secret, "t1", "0.085", tomorrow)
    spend(secret, "t2", "0.001", tomorrow)
    fired = notices(user, "limits.key_threshold")
    assert [(d["threshold"], d["used"], d["period_start"]) for d in fired[3:]] == [
        (80, "8.500000", end.isoformat())
    ]


@pytest.mark.django_db
def test_a_pay_as_you_go_key_limit_counts_usd_and_crosses_two_thresholds_at_once(user, payg_key):
    key, secret = payg_key
    _limit(user, key, "1.00", period="week")
    spend(secret, "big", "0.97")  # 0 → $0.97: 80% and 95%
    fired = notices(user, "limits.key_threshold")
    assert [(d["threshold"], d["used"], d["limit"], d["unit"], d["period"]) for d in fired] == [
        (80, "0.970000", "1.000000", "USD", "week"),
        (95, "0.970000", "1.000000", "USD", "week"),
    ]


@pytest.mark.django_db
def test_the_accounts_thresholds_apply_and_off_in_every_channel_records_nothing(user, flow_key):
    _key, secret = flow_key
    notification_settings_update(account=user, channels={}, quota_thresholds=[50, 90])
    spend(secret, "a", "0.05")  # 5: 50%
    spend(secret, "b", "0.035")  # 8.5: not this account's threshold
    spend(secret, "c", "0.005")  # 9: 90%
    assert [d["threshold"] for d in notices(user, "limits.key_threshold")] == [50, 90]
    notification_settings_update(
        account=user,
        channels={"limits.key_threshold": {"email": False, "inbox": False, "webhook": False}},
        quota_thresholds=[95, 100],
    )
    spend(secret, "d", "0.01")  # 10: 95% and 100%, but every channel is off
    assert len(notices(user, "limits.key_threshold")) == 2


@pytest.mark.django_db
def test_a_settle_below_the_alert_range_runs_no_notification_query(user, flow_key):
    _key, secret = flow_key
    meter_authorize(request_id="q", api_key=secret, model=CHAT, estimated_cost_usd=D("0.001"))
    with CaptureQueriesContext(connection) as queries:
        meter_usage(request_id="q", input_tokens=1, output_tokens=1, cost_usd=D("0.04"))  # 4 of 10
    assert not [q["sql"] for q in queries if "notifications_" in (q["sql"] or "")]


@pytest.mark.django_db(transaction=True)
def test_concurrent_settles_fire_each_key_threshold_exactly_once():
    account = UserFactory()
    cent_rate()
    put_on_plan(account, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=1000))
    key, secret = make_key(account=account)
    _limit(account, key, "20")
    now = timezone.now()
    threads = 20
    for index in range(threads):  # 20 × 0.1 Flows reserved: all fit under the 20-Flow limit
        meter_authorize(
            request_id=f"c{index}", api_key=secret, model=CHAT, estimated_cost_usd=D("0.001"), now=now
        )
    results = run_concurrently(
        lambda index: meter_usage(
            request_id=f"c{index}", input_tokens=1, output_tokens=1, cost_usd=D("0.01"), now=now
        ),
        threads,
    )
    assert raised(results) == []  # 20 × 1 Flow: 80% (16), 95% (19) and 100% (20) each crossed once
    fired = notices(account, "limits.key_threshold")
    assert sorted((d["threshold"], d["used"]) for d in fired) == [
        (80, "16.000000"),
        (95, "19.000000"),
        (100, "20.000000"),
    ]


@pytest.mark.django_db
def test_a_key_limit_refusal_is_told_once_per_period(user, flow_key, django_capture_on_commit_callbacks):
    key, secret = flow_key
    now = timezone.now()
    start, end = calendar_period(period="day", now=now)
    spend(secret, "full", "0.10", now)  # 10 of 10 Flows
    with django_capture_on_commit_callbacks(execute=True):
        for index in range(3):
            with pytest.raises(KeyLimitExceeded):
                meter_authorize(request_id=f"no{index}", api_key=secret, model=CHAT, now=now)
    assert notices(user, "limits.key_limit_reached") == [
        {"key_name": "ci", "period": "day", "period_start": start.isoformat(), "resets_at": end.isoformat()}
    ]
    # E-mail is on by default for the refusal (the thresholds' e-mails are opt-in, like quota alerts).
    assert [message.subject for message in mail.outbox] == [
        "Flowport: API key “ci” refused a request: spend limit reached"
    ]
    assert "Requests are accepted again when the period resets at" in mail.outbox[0].body
    # Another process (no cache) is still held by the dedupe key.
    notification_services._REFUSED_SEEN.clear()
    with pytest.raises(KeyLimitExceeded):
        meter_authorize(request_id="again", api_key=secret, model=CHAT, now=now)
    assert len(notices(user, "limits.key_limit_reached")) == 1
    # The next period's refusal is told again.
    tomorrow = end + timedelta(hours=1)
    spend(secret, "t-full", "0.10", tomorrow)
    with pytest.raises(KeyLimitExceeded):
        meter_authorize(request_id="t-no", api_key=secret, model=CHAT, now=tomorrow)
    assert [d["period_start"] for d in notices(user, "limits.key_limit_reached")] == [
        start.isoformat(),
        end.isoformat(),
    ]


@pytest.mark.django_db
def test_the_refusal_email_is_in_the_accounts_language(django_capture_on_commit_callbacks):
    account = UserFactory(preferred_language="zh-hans")
    cent_rate()
    put_on_plan(account, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=1000))
    key, secret = make_key(account=account, name="ci")
    _limit(account, key, "1")
    spend(secret, "full", "0.01")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(KeyLimitExceeded):
        meter_authorize(request_id="no", api_key=secret, model=CHAT)
    assert [message.subject for message in mail.outbox] == ["Flowport: API Key“ci”拒绝了请求：已达到消费限额"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_refusals_are_told_once():
    account = UserFactory()
    cent_rate()
    put_on_plan(account, make_plan(q5h="1000", weekly="3000", monthly="5000", rpm=1000))
    key, secret = make_key(account=account)
    _limit(account, key, "1")
    spend(secret, "full", "0.01")

    def refused(index):
        try:
            meter_authorize(request_id=f"no{index}", api_key=secret, model=CHAT)
        except KeyLimitExceeded:
            return "refused"
        return "admitted"

    results = run_concurrently(refused, 16)
    assert results == ["refused"] * 16
    assert len(notices(account, "limits.key_limit_reached")) == 1


# --- account spend caps ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_spend_cap_threshold_fires_once_per_cap_period(user, payg_key):
    _key, secret = payg_key
    now = timezone.now()
    day_start, day_end = calendar_period(period="day", now=now)
    spend(secret, "pre", "0.50")  # before any cap: counted from the ledger once a cap is set
    _caps(user, day="1.00", month="10.00")
    spend(secret, "a", "0.29")  # $0.79 of the daily cap
    assert notices(user, "limits.spend_cap_threshold") == []
    spend(secret, "b", "0.01")  # $0.80: 80%
    spend(secret, "c", "0.16")  # $0.96: 95%
    spend(secret, "d", "0.01")  # $0.97: nothing new
    fired = notices(user, "limits.spend_cap_threshold")
    assert [(d["period"], d["threshold"], d["spent_usd"]) for d in fired] == [
        ("day", 80, "0.800000"),
        ("day", 95, "0.960000"),
    ]
    assert fired[0] == {
        "period": "day",
        "threshold": 80,
        "spent_usd": "0.800000",
        "cap_usd": "1.000000",
        "period_start": day_start.isoformat(),
        "resets_at": day_end.isoformat(),
    }
    assert Notification.objects.filter(kind="limits.spend_cap_threshold").latest("id").dedupe_key == (
        f"spend_cap:day:{day_start.isoformat()}:95"
    )
    # The counters live on the wallet: a settle sums no ledger.
    wallet = Wallet.objects.get(account=user)
    assert wallet.cap_spend["day"] == [day_start.isoformat(), "0.970000"]
    meter_authorize(request_id="e", api_key=secret, model=CHAT, estimated_cost_usd=D("0.001"))
    with CaptureQueriesContext(connection) as queries:
        meter_usage(request_id="e", input_tokens=1, output_tokens=1, cost_usd=D("0.01"))
    assert not [q["sql"] for q in queries if "SUM(" in (q["sql"] or "").upper()]
    assert not [q["sql"] for q in queries if "notifications_" in (q["sql"] or "")]
    assert Wallet.objects.get(account=user).cap_spend["day"] == [day_start.isoformat(), "0.980000"]


@pytest.mark.django_db
def test_changing_the_caps_restarts_the_counters_from_the_ledger(user, payg_key):
    _key, secret = payg_key
    _caps(user, day="1.00")
    spend(secret, "a", "0.40")
    _caps(user)  # no cap: settles are not counted
    spend(secret, "b", "0.30")
    assert Wallet.objects.get(account=user).cap_spend == {}
    _caps(user, day="0.88")
    spend(secret, "c", "0.01")  # $0.70 (from the ledger) → $0.71 of $0.88: crosses 80% ($0.704)
    assert [(d["threshold"], d["spent_usd"]) for d in notices(user, "limits.spend_cap_threshold")] == [
        (80, "0.710000")
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_settles_fire_each_cap_threshold_exactly_once():
    account = UserFactory()
    secret = make_key(account=account, kind=ApiKeyKind.PAYG)[1]
    credit(account, "100")
    _caps(account, day="0.20")
    threads = 20
    for index in range(threads):
        meter_authorize(request_id=f"c{index}", api_key=secret, model=CHAT, estimated_cost_usd=D("0.0001"))
    results = run_concurrently(
        lambda index: meter_usage(
            request_id=f"c{index}", input_tokens=1, output_tokens=1, cost_usd=D("0.01")
        ),
        threads,
    )
    assert raised(results) == []  # 20 × $0.01: 80% ($0.16), 95% ($0.19), 100% ($0.20) each once
    fired = notices(account, "limits.spend_cap_threshold")
    assert sorted((d["threshold"], d["spent_usd"]) for d in fired) == [
        (80, "0.160000"),
        (95, "0.190000"),
        (100, "0.200000"),
    ]


@pytest.mark.django_db
def test_a_spend_cap_refusal_is_told_once_per_cap_period(user, payg_key):
    _key, secret = payg_key
    _caps(user, week="0.10")
    spend(secret, "full", "0.10")
    week_start, week_end = calendar_period(period="week", now=timezone.now())
    for index in range(3):
        with pytest.raises(SpendCapReached):
            meter_authorize(request_id=f"no{index}", api_key=secret, model=CHAT)
    notification_services._REFUSED_SEEN.clear()
    with pytest.raises(SpendCapReached):
        meter_authorize(request_id="again", api_key=secret, model=CHAT)
    assert notices(user, "limits.spend_cap_reached") == [
        {"period": "week", "period_start": week_start.isoformat(), "resets_at": week_end.isoformat()}
    ]
    assert Notification.objects.get(kind="limits.spend_cap_reached").dedupe_key == (
        f"spend_cap_reached:week:{week_start.isoformat()}"
    )
