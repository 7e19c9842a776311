"""The anomaly job (SPEC §13, §14): thresholds, healthy → monitored only, the audited reason, idempotency."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test.utils import override_settings

from apps.abuse.models import AccountSignals
from apps.abuse.services import anomalies_detect
from apps.accounts.models import AccountStatus, User
from apps.accounts.services import account_set_status
from apps.core.models import AuditEvent
from tests.abuse.traffic import NOW, customer, request
from tests.accounts.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
THRESHOLDS = {
    "ips_per_key_hour": 3,
    "active_hours_share": "0.85",
    "windows_exhausted": 20,
    "near_rpm_minutes": 120,
    "shared_ip_accounts": 5,
    "baseline_jump": "10",
}


def thresholds(**changes):
    from decimal import Decimal

    values = {**THRESHOLDS, **changes}
    return override_settings(
        FLOWPORT_ABUSE_THRESHOLDS={
            name: Decimal(value) if isinstance(value, str) else value for name, value in values.items()
        }
    )


def pooled_key(account, ips: int):
    """`ips` distinct client IPs on one key within one hour."""
    secret = customer(account)
    for n in range(ips):
        request(secret, NOW - timedelta(hours=1, minutes=n), ip=f"10.{account.pk % 250}.0.{n}")
    return secret


def status_events(account):
    return list(AuditEvent.objects.filter(event_type="account.status_changed", account=account))


@thresholds()
def test_an_account_over_a_threshold_is_raised_to_monitored_with_the_signal_values_as_reason():
    over, at_limit_minus_one = UserFactory(), UserFactory()
    pooled_key(over, 3)
    pooled_key(at_limit_minus_one, 2)
    assert anomalies_detect(now=NOW) == [over.pk]
    over.refresh_from_db()
    at_limit_minus_one.refresh_from_db()
    assert over.status == AccountStatus.MONITORED
    assert at_limit_minus_one.status == AccountStatus.HEALTHY
    [event] = status_events(over)
    assert event.actor is None
    assert event.details["from"] == "healthy"
    assert event.details["to"] == "monitored"
    assert event.details["automatic"] is True
    assert event.details["reason"] == "Automatic anomaly check: ips_per_key_hour=3 (threshold 3)"
    assert event.details["signals"]["ips_per_key_hour"] == "3"
    assert event.details["signals"]["shared_ip_accounts"] == "0"
    assert status_events(at_limit_minus_one) == []
    scores = dict(AccountSignals.objects.values_list("account_id", "score"))
    assert {str(v) for v in scores.values()} == {"1.0000", "0.6667"}


@thresholds()
def test_the_job_never_raises_beyond_monitored_nor_touches_other_statuses():
    accounts = {status: UserFactory() for status in AccountStatus.values}
    for status, account in accounts.items():
        pooled_key(account, 4)  # traffic while healthy, then staff had set the status
        User.objects.filter(pk=account.pk).update(status=status)
    raised = anomalies_detect(now=NOW)
    assert raised == [accounts["healthy"].pk]
    for status, account in accounts.items():
        account.refresh_from_db()
        assert account.status == (AccountStatus.MONITORED if status == "healthy" else status)
    assert AuditEvent.objects.filter(event_type="account.status_changed").count() == 1


@thresholds()
def test_running_twice_or_late_raises_no_one_twice():
    account = UserFactory()
    pooled_key(account, 4)
    assert anomalies_detect(now=NOW) == [account.pk]
    assert anomalies_detect(now=NOW) == []
    assert anomalies_detect(now=NOW + timedelta(hours=3)) == []  # late, the same evidence still in range
    assert len(status_events(account)) == 1


@thresholds()
def test_an_account_staff_cleared_is_not_raised_again_by_the_same_evidence():
    account = UserFactory()
    pooled_key(account, 4)
    anomalies_detect(now=NOW)
    account.refresh_from_db()
    account_set_status(
        account=account, status=AccountStatus.HEALTHY, reason="Office NAT", actor=StaffFactory()
    )
    assert anomalies_detect(now=NOW) == []
    account.refresh_from_db()
    assert account.status == AccountStatus.HEALTHY
    assert len(status_events(account)) == 2


@thresholds()
def test_the_management_command_runs_the_job_once(capsys):
    account = UserFactory()
    pooled_key(account, 3)
    call_command("detect_anomalies")  # the real clock: the traffic is within the look-back period
    assert "1 account(s) raised to monitored" in capsys.readouterr().out
    account.refresh_from_db()
    assert account.status == AccountStatus.MONITORED


@thresholds()
def test_signals_of_accounts_without_traffic_any_more_are_dropped():
    account = UserFactory()
    pooled_key(account, 1)
    anomalies_detect(now=NOW)
    assert AccountSignals.objects.filter(account=account).exists()
    anomalies_detect(now=NOW + timedelta(days=9))
    assert not AccountSignals.objects.filter(account=account).exists()


def test_the_job_is_on_the_beat_schedule_the_in_process_scheduler_runs():
    from django.conf import settings

    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"abuse.detect_anomalies", "usage.clear_client_ips"} <= entries
    from celery import current_app

    current_app.loader.import_default_modules()
    assert "abuse.detect_anomalies" in current_app.tasks
    assert "usage.clear_client_ips" in current_app.tasks
