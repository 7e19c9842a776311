"""The insider program (SPEC §1, §14): staff grant it on a paid plan with a multiplier above 1; every
lapse of the paid subscription revokes it with an audit event and a notice; subscribing again does not
restore it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import AuditEvent
from apps.plans.models import Plan
from apps.plans.selectors import effective_usd_per_flow
from apps.plans.services import (
    subscription_drop_to_free,
    subscription_expire_grace,
    subscription_renew_due,
    subscription_schedule_change,
)
from apps.refunds.services import refund_request
from tests.accounts.factories import StaffFactory, UserFactory
from tests.plans.factories import at, put_on_plan, save_card
from tests.refunds.factories import paid_cycle

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
CHANGELIST = "/admin/abuse/reviewaccount/?queue=everyone"
START, END = at(2026, 11, 1), at(2026, 12, 1)


def grant(account, multiplier=None):
    from apps.abuse.services import insider_grant

    return insider_grant(
        account=account, actor=StaffFactory(), reason="Early supporter", multiplier=multiplier
    )


def insider_events(account):
    return list(
        AuditEvent.objects.filter(account=account, event_type__startswith="account.insider_")
        .order_by("id")
        .values_list("event_type", "details")
    )


def assert_revoked(account, reason):
    account.refresh_from_db()
    assert (account.is_insider, account.flow_value_multiplier) == (False, Decimal("1.0000"))
    events = insider_events(account)
    assert [event_type for event_type, _d in events] == ["account.insider_granted", "account.insider_revoked"]
    assert events[1][1] == {
        "multiplier_from": "1.2000",
        "multiplier_to": "1.0000",
        "reason": f"subscription_dropped_to_free:{reason}",
    }
    [notice] = [m for m in mail.outbox if "insider" in m.subject]
    assert notice.to == [account.email]
    assert "Subscribing again does not restore insider status" in notice.body


def test_staff_grant_insider_status_on_a_paid_plan_in_admin_with_the_default_multiplier(staff_client):
    account = UserFactory()
    put_on_plan(account, "pro")
    response = staff_client.post(
        CHANGELIST,
        {"action": "grant_insider", "_selected_action": [account.pk], "apply": "1", "reason": "Beta"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.is_insider, account.flow_value_multiplier) == (
        True,
        settings.FLOWPORT_INSIDER_FLOW_MULTIPLIER,
    )
    assert account.flow_value_multiplier == Decimal("1.2")
    assert effective_usd_per_flow(account=account) == Decimal("0.030303030304")  # base × 1.2
    [(event_type, details)] = insider_events(account)
    assert (event_type, details["multiplier_to"], details["reason"]) == (
        "account.insider_granted",
        "1.2",
        "Beta",
    )


@pytest.mark.parametrize("multiplier", ["1", "0.9", "1.0000"])
def test_a_multiplier_of_1_or_less_is_refused_and_nothing_changes(staff_client, multiplier):
    account = UserFactory()
    put_on_plan(account, "pro")
    response = staff_client.post(
        CHANGELIST,
        {
            "action": "grant_insider",
            "_selected_action": [account.pk],
            "apply": "1",
            "reason": "Beta",
            "multiplier": multiplier,
        },
    )
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1.0001." in response.content.decode()
    account.refresh_from_db()
    assert (account.is_insider, account.flow_value_multiplier) == (False, Decimal("1.0000"))
    assert insider_events(account) == []


def test_the_service_refuses_a_multiplier_of_1_and_an_account_on_free():
    from apps.core.exceptions import ApplicationError

    paid, free = UserFactory(), UserFactory()
    put_on_plan(paid, "pro")
    with pytest.raises(ApplicationError):
        grant(paid, multiplier=Decimal("1"))
    with pytest.raises(ApplicationError):
        grant(free)
    assert not User.objects.filter(is_insider=True).exists()
    assert not AuditEvent.objects.exists()


def test_the_admin_refuses_insider_status_for_a_free_account(staff_client):
    account = UserFactory()
    response = staff_client.post(
        CHANGELIST,
        {"action": "grant_insider", "_selected_action": [account.pk], "apply": "1", "reason": "Beta"},
    )
    assert response.status_code == 302
    assert (
        "Insider status needs an active paid subscription." in staff_client.get(CHANGELIST).content.decode()
    )
    account.refresh_from_db()
    assert account.is_insider is False


def test_a_cancellation_at_period_end_revokes_it(user, django_capture_on_commit_callbacks):
    save_card(user)
    put_on_plan(user, "pro", start=START, end=END)
    grant(user)
    subscription_schedule_change(account=user, plan=Plan.objects.get(tier="free"))
    user.refresh_from_db()
    assert user.is_insider  # still paid until the period ends
    with django_capture_on_commit_callbacks(execute=True):
        subscription_renew_due(now=END)
    assert_revoked(user, "canceled_at_period_end")


def test_a_grace_expiry_revokes_it(user, django_capture_on_commit_callbacks):
    save_card(user, last4="0002")  # declined
    put_on_plan(user, "pro", start=START, end=END)
    grant(user)
    subscription_renew_due(now=END)
    user.refresh_from_db()
    assert user.is_insider  # past due, within the grace period
    with django_capture_on_commit_callbacks(execute=True):
        subscription_expire_grace(now=END + timedelta(days=settings.FLOWPORT_RENEWAL_GRACE_DAYS))
    assert_revoked(user, "grace_expired")


def test_a_refund_revokes_it(user, django_capture_on_commit_callbacks):
    paid_cycle(user, "pro", paid_at=timezone.now() - timedelta(hours=1))
    grant(user)
    with django_capture_on_commit_callbacks(execute=True):
        refund_request(account=user)
    assert_revoked(user, "refunded")


def test_a_provider_cancellation_revokes_it_and_subscribing_again_does_not_restore_it(
    user, django_capture_on_commit_callbacks
):
    subscription = put_on_plan(user, "pro", start=START, end=END)
    grant(user)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_drop_to_free(subscription=subscription, reason="provider_canceled", now=at(2026, 11, 20))
    assert_revoked(user, "provider_canceled")
    put_on_plan(user, "max", start=at(2026, 11, 21), end=at(2026, 12, 21))
    subscription_renew_due(now=at(2026, 11, 22))
    user.refresh_from_db()
    assert user.is_insider is False
    assert len(insider_events(user)) == 2


def test_a_lapse_of_a_non_insider_writes_no_insider_event(user):
    subscription = put_on_plan(user, "pro", start=START, end=END)
    subscription_drop_to_free(subscription=subscription, reason="provider_canceled", now=at(2026, 11, 20))
    assert insider_events(user) == []
    assert mail.outbox == []
