"""The state changes a customer is told about become notifications (read off the audit trail in the
same transaction): subscription lifecycle with amounts and receipts, account status, key security."""

from datetime import timedelta

import pytest
from django.conf import settings

from apps.accounts.services import account_set_status
from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_create, api_key_rotate
from apps.billing.models import Payment, PaymentPurpose
from apps.notifications.models import Notification
from apps.plans.models import Plan
from apps.plans.services import (
    subscription_expire_grace,
    subscription_renew_due,
    subscription_schedule_change,
    subscription_upgrade,
)
from tests.accounts.factories import StaffFactory
from tests.plans.factories import at, put_on_plan, save_card

pytestmark = pytest.mark.django_db

START, END = at(2026, 11, 1), at(2026, 12, 1)


def notices(user) -> list[tuple[str, dict]]:
    return [(n.kind, n.data) for n in Notification.objects.filter(account=user).order_by("id")]


def test_renewal_with_its_amount_and_receipt(user):
    save_card(user)
    put_on_plan(user, "max", start=START, end=END)
    subscription_renew_due(now=END)
    payment = Payment.objects.get(account=user, purpose=PaymentPurpose.RENEWAL)
    assert notices(user) == [
        (
            "subscription.renewed",
            {"plan": "Max", "amount_usd": "100.00", "receipt_number": payment.receipt_number},
        )
    ]


def test_downgrade_scheduled_then_a_failed_renewal_then_free(user):
    save_card(user, last4="0002")  # declined
    put_on_plan(user, "max", start=START, end=END)
    subscription_schedule_change(account=user, plan=Plan.objects.get(tier="pro"))
    failed_at = END + timedelta(minutes=5)
    subscription_renew_due(now=failed_at)
    subscription_expire_grace(now=failed_at + timedelta(days=settings.FLOWPORT_RENEWAL_GRACE_DAYS))
    assert [kind for kind, _data in notices(user)] == [
        "subscription.downgrade_scheduled",
        "subscription.renewal_failed",
        "subscription.dropped_to_free",
    ]
    assert notices(user)[0][1] == {"plan": "Pro", "effective_at": END.isoformat()}
    assert notices(user)[2][1] == {"from_plan": "Max"}


def test_upgrade_carries_its_amount(user):
    save_card(user)
    put_on_plan(user, "pro", start=START, end=END)
    subscription_upgrade(account=user, new_plan=Plan.objects.get(tier="max"), now=END - timedelta(seconds=1))
    assert notices(user) == [
        ("subscription.upgraded", {"plan": "Max", "from_plan": "Pro", "amount_usd": "0.00"}),
    ]


def test_account_restricted_and_restored_but_not_internal_monitoring(user):
    staff = StaffFactory()
    account_set_status(account=user, status="monitored", reason="signals", actor=None)
    account_set_status(account=user, status="suspended", reason="abuse", actor=staff)
    account_set_status(account=user, status="healthy", reason="appeal", actor=staff)
    assert notices(user) == [
        ("account.status_changed", {"status": "suspended"}),
        ("account.status_changed", {"status": "healthy"}),
    ]


def test_key_security_events_carry_the_masked_key_only(user):
    key, secret = api_key_create(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="ci")
    rotated, new_secret = api_key_rotate(account=user, key_id=key.pk)
    api_key_create(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    kinds = [kind for kind, _data in notices(user)]
    assert kinds == [
        "security.api_key_created",
        "security.api_key_rotated",
        "security.management_key_created",
    ]
    for _kind, data in notices(user):
        assert secret not in str(data) and new_secret not in str(data)
    assert notices(user)[1][1] == {"key": rotated.masked, "name": "ci"}
