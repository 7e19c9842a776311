"""Each anomaly signal (SPEC §14) from generated gateway traffic, with exact values."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test.utils import override_settings

from apps.abuse.models import AccountSignals
from apps.abuse.selectors import signals_compute
from apps.abuse.services import anomalies_detect
from tests.abuse.traffic import NOW, customer, request
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_distinct_client_ips_per_key_per_hour_takes_the_busiest_key_hour():
    account = UserFactory()
    secret = customer(account)
    other_key = make_key(account=account, name="Other")[1]
    hour = NOW - timedelta(hours=3)
    for minute, ip in enumerate(["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.3"]):
        request(secret, hour + timedelta(minutes=minute), ip=ip)
    for minute, ip in enumerate(["198.51.100.1", "198.51.100.2"]):
        request(secret, hour + timedelta(hours=1, minutes=minute), ip=ip)
    request(other_key, hour, ip="198.51.100.9")  # same hour, another key: not added to the first key's
    values = signals_compute(now=NOW)[account.pk].values
    assert values["ips_per_key_hour"] == Decimal("3")
    evidence = signals_compute(now=NOW)[account.pk]
    assert evidence.distinct_ips_7d == 6
    assert evidence.requests_7d == 7


def test_share_of_hours_active_over_seven_days():
    account = UserFactory()
    secret = customer(account)
    for hour in range(42):  # 42 distinct hours, two requests in one of them
        request(secret, NOW - timedelta(hours=hour, minutes=10))
    request(secret, NOW - timedelta(minutes=20))
    request(secret, NOW - timedelta(days=8))  # before the period
    assert signals_compute(now=NOW)[account.pk].values["active_hours_share"] == Decimal("0.2500")  # 42 / 168


def test_five_hour_windows_used_up_in_the_period():
    account = UserFactory()
    secret = customer(account, q5h="1")  # one request of 1 Flow uses the 5-hour window up
    for offset in (30, 24, 18):  # three windows, each used up (the first two archived when the next starts)
        request(secret, NOW - timedelta(hours=offset))
    request(secret, NOW - timedelta(hours=12), cost="0.001")  # 0.1 Flow: a window not used up
    assert signals_compute(now=NOW)[account.pk].values["windows_exhausted"] == Decimal("3")


def test_minutes_near_the_rpm_limit():
    account = UserFactory()
    secret = customer(account, rpm=5)  # near = 4 or more requests in a minute (80 %)
    for minute_start, count in ((10, 4), (8, 5), (6, 3)):
        for second in range(count):
            request(secret, NOW - timedelta(minutes=minute_start) + timedelta(seconds=second * 5))
    assert signals_compute(now=NOW)[account.pk].values["near_rpm_minutes"] == Decimal("2")


def test_accounts_seen_from_the_same_client_ips():
    a, b, c, d, e = (UserFactory() for _ in range(5))
    secrets = {account: customer(account) for account in (a, b, c, d, e)}
    at = NOW - timedelta(hours=1)
    request(secrets[a], at, ip="203.0.113.5")
    request(secrets[a], at, ip="2001:db8::5")
    request(secrets[b], at, ip="203.0.113.5")
    request(secrets[c], at, ip="203.0.113.5")
    request(secrets[d], at, ip="2001:DB8::5")  # the same address as a's, written another way
    request(secrets[e], at, ip="192.0.2.77")
    found = signals_compute(now=NOW)
    assert found[a.pk].values["shared_ip_accounts"] == Decimal("3")  # b, c, d
    assert found[b.pk].values["shared_ip_accounts"] == Decimal("2")  # a, c
    assert found[d.pk].values["shared_ip_accounts"] == Decimal("1")  # a
    assert found[e.pk].values["shared_ip_accounts"] == Decimal("0")


@override_settings(FLOWPORT_ABUSE_JUMP_MIN_REQUESTS=5)
def test_a_jump_against_the_accounts_own_baseline():
    account = UserFactory()
    quiet = UserFactory()
    secret, quiet_secret = customer(account), customer(quiet)
    for day in range(1, 8):  # the 7 days before the last 24 hours: 7 requests, 1 a day
        request(secret, NOW - timedelta(days=day, hours=1))
        request(quiet_secret, NOW - timedelta(days=day, hours=1))
    for minute in range(10):  # the last 24 hours: 10 requests
        request(secret, NOW - timedelta(hours=2, minutes=minute * 2))
    for minute in range(4):  # below the minimum number of requests: no jump, whatever the ratio
        request(quiet_secret, NOW - timedelta(hours=2, minutes=minute * 2))
    found = signals_compute(now=NOW)
    assert found[account.pk].values["baseline_jump"] == Decimal("10.0000")  # 10 ÷ (7 / 7)
    assert found[quiet.pk].values["baseline_jump"] == Decimal("0")


def test_the_job_stores_the_sparkline_top_models_and_keys():
    account = UserFactory()
    secret = customer(account)
    request(secret, NOW - timedelta(days=1), cost="0.02")
    request(secret, NOW - timedelta(minutes=5), cost="0.03", ip="203.0.113.9")
    request(secret, NOW - timedelta(minutes=4), cost="0.01", ip="203.0.113.9")
    anomalies_detect(now=NOW)
    stored = AccountSignals.objects.get(account=account)
    today, yesterday = NOW.date(), (NOW - timedelta(days=1)).date()
    assert len(stored.daily) == 7
    assert stored.daily[-1] == [today.isoformat(), 2, "4.000000"]
    assert stored.daily[-2] == [yesterday.isoformat(), 1, "2.000000"]
    assert [row[1] for row in stored.daily[:-2]] == [0, 0, 0, 0, 0]
    assert (stored.requests_7d, stored.flows_7d, stored.distinct_ips_7d) == (3, Decimal("6"), 1)
    assert stored.top_models == [["deepseek/deepseek-chat", 3]]
    assert [row[2] for row in stored.top_keys] == [3]
    assert stored.top_keys[0][1].startswith("Key (sk-ss-v1-")
