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
