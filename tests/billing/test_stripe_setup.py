import uuid

import pytest
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from apps.billing.stripe_handlers import HANDLED_EVENTS

pytestmark = pytest.mark.django_db

FIXED = "6f0c8a52-6a1e-4c55-9a43-3b8f2f3f6a10"


def test_stripe_setup_creates_then_updates_the_endpoint(settings, capsys):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_first"
    settings.STRIPE_WEBHOOK_UUID = FIXED
    settings.SITE_URL = "https://portal.example"
    call_command("stripe_setup")
    settings.STRIPE_WEBHOOK_SECRET = "whsec_rotated"
    call_command("stripe_setup")

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.id == "we_flowport"
    assert endpoint.secret == "whsec_rotated"
    assert endpoint.djstripe_uuid == uuid.UUID(FIXED)
    assert endpoint.url == f"https://portal.example/stripe/webhook/{FIXED}/"
    assert endpoint.enabled_events == list(HANDLED_EVENTS)
    assert f"stripe listen --forward-to localhost:8000/stripe/webhook/{FIXED}/" in capsys.readouterr().out


def test_stripe_setup_refuses_without_a_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError):
        call_command("stripe_setup")
    assert WebhookEndpoint.objects.count() == 0


def test_the_endpoint_it_creates_accepts_signed_events(settings, fake_stripe, client):
    import json

    import stripe

    settings.STRIPE_WEBHOOK_UUID = FIXED
    call_command("stripe_setup")
    payload = json.dumps(
        fake_stripe.event("balance.available", {"object": "balance", "available": [], "pending": []})
    )
    response = client.post(
        f"/stripe/webhook/{FIXED}/",
        data=payload,
        content_type="application/json",
        headers={
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                payload, "whsec_test_flowport"
            )
        },
    )
    assert response.status_code == 200
