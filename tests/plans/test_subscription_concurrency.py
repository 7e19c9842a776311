"""Two confirmations of the same upgrade racing on PostgreSQL charge once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.billing.models import Payment, PaymentStatus
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription
from apps.plans.services import subscription_upgrade
from tests.plans.factories import put_on_plan, save_card


@pytest.mark.django_db(transaction=True)
def test_concurrent_upgrade_confirmations_charge_once(user):
    now = timezone.now()
    save_card(user)
    put_on_plan(user, "pro", start=now - timedelta(days=15), end=now + timedelta(days=15))
    max_plan = Plan.objects.get(tier="max")
    barrier = threading.Barrier(2)
    errors = []

    def confirm():
        try:
            barrier.wait(timeout=5)
            subscription_upgrade(account=user, new_plan=max_plan, now=now)
        except ApplicationError as error:
            errors.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    payment = Payment.objects.get(account=user)
    assert (payment.amount_usd, payment.status) == (Decimal("40.00"), PaymentStatus.SUCCEEDED)
    assert Subscription.objects.get(account=user).plan.tier == "max"
    assert AuditEvent.objects.filter(event_type="subscription.upgraded").count() == 1
