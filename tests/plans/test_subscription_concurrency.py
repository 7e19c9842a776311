"""Two confirmations of the same upgrade racing on PostgreSQL charge once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing.models import Payment, PaymentStatus
from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription
from apps.plans.services import subscription_renew_due, subscription_upgrade
from tests.helpers import outcome, raised, run_concurrently
from tests.plans.factories import put_on_plan, save_card


@pytest.mark.django_db(transaction=True)
def test_concurrent_upgrade_confirmations_charge_once(user):
    now = timezone.now()
    save_card(user)
    put_on_plan(user, "pro", start=now - timedelta(days=15), end=now + timedelta(days=15))
    max_plan = Plan.objects.get(tier="max")
    results = run_concurrently(lambda _i: subscription_upgrade(account=user, new_plan=max_plan, now=now), 2)

    assert [type(outcome(result)) for result in results] == [Subscription, Subscription]
    payment = Payment.objects.get(account=user)
    assert (payment.amount_usd, payment.status) == (Decimal("40.00"), PaymentStatus.SUCCEEDED)
    assert Subscription.objects.get(account=user).plan.tier == "max"
    assert AuditEvent.objects.filter(event_type="subscription.upgraded").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_renewal_runs_charge_each_period_once(user):
    now = timezone.now()
    save_card(user)
    put_on_plan(user, "max", start=now - timedelta(days=61), end=now - timedelta(days=31))
    results = run_concurrently(lambda _i: subscription_renew_due(now=now), 3)

    assert raised(results) == []
    renewals = list(Payment.objects.filter(account=user).values_list("amount_usd", "status"))
    assert renewals == [(Decimal("100.00"), PaymentStatus.SUCCEEDED)] * 2  # two periods ended, two charges
    assert AuditEvent.objects.filter(event_type="subscription.renewed").count() == 2
    assert Subscription.objects.get(account=user).current_period_end > now
