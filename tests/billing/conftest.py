"""Stripe fixtures: a local fake Stripe, the dj-stripe webhook endpoint, and signed webhook deliveries."""

import json

import pytest
import stripe

from apps.billing import services
from apps.billing.models import PaymentPurpose
from apps.billing.stripe_handlers import HANDLED_EVENTS
from tests.billing.fake_stripe import FakeStripe

WEBHOOK_SECRET = "whsec_test_flowport"


@pytest.fixture
def fake_stripe(settings, monkeypatch):
    """Stripe (the fake) is the active provider; stripe-python and dj-stripe are pointed at it."""
    fake = FakeStripe(api_key="sk_test_FlowportFakeStripeKey0001").start()
    settings.STRIPE_SECRET_KEY = fake.api_key
    settings.STRIPE_TEST_SECRET_KEY = fake.api_key
    settings.STRIPE_LIVE_SECRET_KEY = fake.api_key
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENT_PROVIDER = "stripe"
    settings.SITE_URL = "https://portal.test"
    monkeypatch.setattr(stripe, "api_base", fake.url)
    yield fake
    fake.stop()
    # The contract: every request the fake received validates against stripe-python's typed params for
    # the pinned API version, and every object it answered or sent is a valid object of that version.
    assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture
def webhook_endpoint(db, fake_stripe):
    from djstripe.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        id="we_test_flowport",
        livemode=False,
        secret=WEBHOOK_SECRET,
        url="https://portal.test/stripe/webhook/",
        enabled_events=list(HANDLED_EVENTS),
        status="enabled",
        api_version="2026-08-26.dahlia",
    )


@pytest.fixture
def deliver(client, webhook_endpoint, fake_stripe):
    """POST an event to the real dj-stripe endpoint, signed as Stripe signs it (or with another secret)."""

    def deliver(event: dict, *, secret: str = WEBHOOK_SECRET):
        payload = json.dumps(event)
        signature = stripe.WebhookSignature.generate_signature_header(payload, secret)
        return client.post(
            f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )

    return deliver


@pytest.fixture
def fulfilled(monkeypatch):
    """Record top-up fulfilment calls (the wallet's handlers are the wallet's business)."""
    calls = {"success": [], "failure": []}
    monkeypatch.setattr(services, "_HANDLERS", dict(services._HANDLERS))
    for purpose in (PaymentPurpose.TOPUP, PaymentPurpose.AUTO_TOPUP):
        services.register_payment_handlers(
            purpose,
            on_success=lambda p: calls["success"].append(p.pk),
            on_failure=lambda p: calls["failure"].append(p.pk),
        )
    return calls


@pytest.fixture
def stripe_subscribe(fake_stripe, deliver):
    """Subscribe `account` to `tier` through Stripe Checkout + webhook; returns (payment, subscription id)."""
    from decimal import Decimal

    from apps.billing.providers import get_provider
    from apps.billing.services import payment_create
    from apps.plans.models import Plan

    def subscribe(account, tier="pro", *, key=None):
        plan = Plan.objects.get(tier=tier)
        payment = payment_create(
            account=account,
            purpose=PaymentPurpose.SUBSCRIPTION,
            amount_usd=Decimal(plan.price_usd),
            description=f"Flowport {plan.name}",
            idempotency_key=key or f"subscribe:{account.pk}:{tier}",
            metadata={"plan": tier},
            return_url="/console/subscription/",
            cancel_url="/pricing/",
        )
        session = get_provider().subscription_start_checkout(payment=payment, plan=plan)
        payment.external_id = session.external_id
        payment.save(update_fields=["external_id"])
        completed = fake_stripe.complete_checkout(session.external_id)
        response = deliver(fake_stripe.event("checkout.session.completed", completed))
        assert response.status_code == 200, response.content
        payment.refresh_from_db()
        return payment, completed["subscription"]

    return subscribe
