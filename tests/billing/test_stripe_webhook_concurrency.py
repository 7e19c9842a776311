"""Concurrent deliveries of the same Stripe payment settle it once (PostgreSQL row locks + dj-stripe's
unique event id), even when the same event and a second event for the same session race."""

import json
from decimal import Decimal

import pytest
import stripe
from django.test import Client
from djstripe.models import Event

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.services import checkout_start, payment_create
from tests.accounts.factories import UserFactory
from tests.billing.conftest import WEBHOOK_SECRET
from tests.helpers import run_concurrently


@pytest.mark.django_db(transaction=True)
def test_racing_deliveries_pay_once(fake_stripe, webhook_endpoint, fulfilled):
    user = UserFactory()
    payment = payment_create(
        account=user,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=Decimal("30.00"),
        description="Wallet top-up",
        idempotency_key="topup:race",
        return_url="/console/",
    )
    checkout_start(payment=payment)
    payment.refresh_from_db()
    session = fake_stripe.complete_checkout(payment.external_id)
    first = fake_stripe.event("checkout.session.completed", session)
    second = fake_stripe.event("checkout.session.completed", session)
    deliveries = [first, first, second, second]

    def deliver(index: int) -> int:
        payload = json.dumps(deliveries[index])
        signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        response = Client().post(
            f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        return response.status_code

    statuses = run_concurrently(deliver, len(deliveries))

    payment.refresh_from_db()
    assert statuses == [200, 200, 200, 200]
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fulfilled["success"] == [payment.pk]
    assert Event.objects.count() == 2
    assert Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_subscription_checkouts_completing_at_once_leave_one_live_subscription(
    fake_stripe, webhook_endpoint
):
    from apps.billing.providers import get_provider
    from apps.plans.models import Plan, Subscription
    from apps.plans.services import subscription_create_free

    user = UserFactory()
    if not Subscription.objects.filter(account=user).exists():
        subscription_create_free(account=user)
    sessions = []
    for tier in ("pro", "max"):
        plan = Plan.objects.get(tier=tier)
        payment = payment_create(
            account=user,
            purpose=PaymentPurpose.SUBSCRIPTION,
            amount_usd=plan.price_usd,
            description=plan.name,
            idempotency_key=f"subscribe:race:{tier}",
            metadata={"plan": tier},
            return_url="/console/",
        )
        session = get_provider().subscription_start_checkout(payment=payment, plan=plan)
        Payment.objects.filter(pk=payment.pk).update(external_id=session.external_id)
        sessions.append(fake_stripe.complete_checkout(session.external_id))
    events = [fake_stripe.event("checkout.session.completed", session) for session in sessions]

    def deliver(index: int) -> int:
        payload = json.dumps(events[index])
        signature = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
        response = Client().post(
            f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        return response.status_code

    statuses = run_concurrently(deliver, len(events))

    assert statuses == [200, 200]
    subscriptions = [fake_stripe.objects[session["subscription"]] for session in sessions]
    live = [sub["id"] for sub in subscriptions if sub["status"] == "active"]
    assert len(live) == 1
    assert Subscription.objects.get(account=user).external_id == live[0]
    payments = Payment.objects.filter(account=user, purpose=PaymentPurpose.SUBSCRIPTION)
    assert sorted(payments.values_list("status", flat=True)) == ["canceled", "succeeded"]
    refunds = [r for r in fake_stripe.posts("/v1/refunds") if r.path == "/v1/refunds"]
    assert len(refunds) == 1
