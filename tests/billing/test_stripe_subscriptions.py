"""Stripe webhooks driving the subscription lifecycle end to end.

Needs the `subs` branch merged: its SUBSCRIPTION/UPGRADE/RENEWAL payment handlers and
`apps.plans.services.subscription_sync_from_provider` / `subscription_drop_to_free`.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import payment_create
from apps.plans.models import Plan, Subscription, SubscriptionStatus

pytestmark = pytest.mark.django_db


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _period(fake_stripe, sub_id):
    item = fake_stripe.objects[sub_id]["items"]["data"][0]
    return at(item["current_period_start"]), at(item["current_period_end"])


def test_subscribe_puts_the_account_on_the_plan_with_stripes_period(user, fake_stripe, stripe_subscribe):
    payment, sub_id = stripe_subscribe(user, "pro")

    subscription = Subscription.objects.get(account=user)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert subscription.plan.tier == "pro"
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.external_id == sub_id
    assert (subscription.current_period_start, subscription.current_period_end) == _period(
        fake_stripe, sub_id
    )
    assert subscription.scheduled_plan is None


def test_upgrade_switches_the_plan_when_stripe_invoices_the_proration(
    user, fake_stripe, stripe_subscribe, deliver
):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = Subscription.objects.get(account=user)
    period = (subscription.current_period_start, subscription.current_period_end)
    payment = payment_create(
        account=user,
        purpose=PaymentPurpose.UPGRADE,
        amount_usd=Decimal("40.00"),
        description="Upgrade to Max",
        idempotency_key="upgrade:pro-max:1",
        metadata={"plan": "max"},
        provider="stripe",
    )

    result = get_provider().subscription_upgrade(
        subscription=subscription, new_plan=Plan.objects.get(tier="max"), payment=payment
    )
    Payment.objects.filter(pk=payment.pk).update(external_id=result.external_id)
    invoice = fake_stripe.objects[result.external_id]
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    (modify,) = fake_stripe.posts(f"/v1/subscriptions/{sub_id}")
    assert modify.idempotency_key == "upgrade:pro-max:1"
    assert modify.params["proration_behavior"] == "always_invoice"
    payment.refresh_from_db()
    subscription.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert subscription.plan.tier == "max"
    assert (subscription.current_period_start, subscription.current_period_end) == period


def test_renewal_advances_the_period_once(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    invoice = fake_stripe.renew(sub_id)
    event = fake_stripe.event("invoice.paid", invoice)

    assert deliver(event).status_code == 200
    subscription = Subscription.objects.get(account=user)
    period = (subscription.current_period_start, subscription.current_period_end)
    assert deliver(event).status_code == 200
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    subscription.refresh_from_db()
    assert period == _period(fake_stripe, sub_id)
    assert (subscription.current_period_start, subscription.current_period_end) == period
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert Payment.objects.filter(purpose=PaymentPurpose.RENEWAL, status=PaymentStatus.SUCCEEDED).count() == 1


def test_failed_renewal_makes_the_subscription_past_due(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    invoice = fake_stripe.renew(sub_id, paid=False)

    assert deliver(fake_stripe.event("invoice.payment_failed", invoice)).status_code == 200

    subscription = Subscription.objects.get(account=user)
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert subscription.past_due_since is not None
    assert subscription.plan.tier == "pro"


def test_cancel_at_period_end_in_stripe_schedules_free(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    remote = fake_stripe.objects[sub_id]
    remote["cancel_at_period_end"] = True

    assert deliver(fake_stripe.event("customer.subscription.updated", remote)).status_code == 200

    subscription = Subscription.objects.get(account=user)
    assert subscription.plan.tier == "pro"
    assert subscription.scheduled_plan.tier == "free"


def test_subscription_deleted_in_stripe_drops_to_free(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    payload = dict(fake_stripe.objects[sub_id])
    assert deliver(fake_stripe.event("customer.subscription.deleted", payload)).status_code == 200
    assert Subscription.objects.get(account=user).plan.tier == "pro"  # Stripe says it is still active

    fake_stripe.objects[sub_id]["status"] = "canceled"
    assert (
        deliver(fake_stripe.event("customer.subscription.deleted", fake_stripe.objects[sub_id])).status_code
        == 200
    )

    assert Subscription.objects.get(account=user).plan.tier == "free"
