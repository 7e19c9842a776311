"""One-off Stripe payments (top-ups) through Checkout and off-session charges, against the local fake."""

import copy
from decimal import Decimal

import pytest
from djstripe.models import Event

from apps.billing.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import (
    checkout_start,
    payment_charge_saved_method,
    payment_create,
    payment_method_save,
)
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _topup(user, amount="25.00", key="topup:1", purpose=PaymentPurpose.TOPUP):
    return payment_create(
        account=user,
        purpose=purpose,
        amount_usd=Decimal(amount),
        description="Wallet top-up",
        idempotency_key=key,
        return_url="/console/payg/",
        cancel_url="/console/payg/?canceled=1",
    )


def _paid_session(fake_stripe, payment, **kwargs):
    payment.refresh_from_db()
    return fake_stripe.complete_checkout(payment.external_id, **kwargs)


def test_checkout_session_carries_cents_methods_urls_and_idempotency_keys(user, fake_stripe):
    payment = _topup(user, amount="25.10")
    url = checkout_start(payment=payment, methods=("card", "alipay"), save_method=True)
    second = _topup(user, amount="5", key="topup:2")
    checkout_start(payment=second)

    payment.refresh_from_db()
    assert payment.provider == "stripe"
    assert payment.external_id.startswith("cs_test_")
    assert url == f"https://checkout.stripe.test/c/pay/{payment.external_id}"
    customers = fake_stripe.posts("/v1/customers")
    assert len(customers) == 1  # one Stripe customer per account, reused
    assert customers[0].idempotency_key == f"flowport:customer:{user.pk}:test"
    first_session, second_session = fake_stripe.posts("/v1/checkout/sessions")
    assert first_session.idempotency_key == "topup:1:checkout"
    assert second_session.idempotency_key == "topup:2:checkout"
    params = first_session.params
    assert params["mode"] == "payment"
    assert params["customer"] == "cus_test_000001"
    assert params["payment_method_types"] == ["card", "alipay"]
    assert params["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": "usd",
                "unit_amount": "2510",
                "product_data": {"name": "Wallet top-up"},
            },
        }
    ]
    assert params["payment_intent_data"] == {
        "metadata": {"payment": str(payment.public_id), "purpose": "topup"},
    }
    assert params["payment_method_options"] == {"card": {"setup_future_usage": "off_session"}}
    assert params["success_url"] == "https://portal.test/console/payg/"
    assert params["cancel_url"] == "https://portal.test/console/payg/?canceled=1"
    assert "payment_method_options" not in second_session.params
    assert second_session.params["payment_method_types"] == ["card"]


def test_checkout_completed_pays_once_and_saves_the_card(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment, methods=("card", "alipay"), save_method=True)
    session = _paid_session(fake_stripe, payment, last4="1881")

    response = deliver(fake_stripe.event("checkout.session.completed", session))

    assert response.status_code == 200
    payment.refresh_from_db()
    intent_id = session["payment_intent"]
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.external_id == intent_id
    assert payment.metadata["payment_intent"] == intent_id
    assert payment.amount_usd == Decimal("25.00")
    assert payment.receipt_number == f"FP-{payment.paid_at:%Y}-{payment.pk:07d}"
    assert fulfilled == {"success": [payment.pk], "failure": []}
    card = PaymentMethod.objects.get(account=user)
    pm = fake_stripe.objects[fake_stripe.objects[intent_id]["payment_method"]]
    assert (card.provider, card.external_id, card.last4, card.brand, card.is_default) == (
        "stripe",
        pm["id"],
        "1881",
        "visa",
        True,
    )


def test_replayed_events_change_nothing(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment, save_method=True)
    session = _paid_session(fake_stripe, payment)
    event = fake_stripe.event("checkout.session.completed", session)
    assert deliver(event).status_code == 200
    payment.refresh_from_db()
    audits = AuditEvent.objects.count()

    assert deliver(event).status_code == 200  # same event id: dj-stripe does not dispatch it again
    other = fake_stripe.event("checkout.session.completed", session)  # a new id for the same session
    assert deliver(other).status_code == 200

    again = Payment.objects.get(pk=payment.pk)
    assert fulfilled["success"] == [payment.pk]
    assert (again.status, again.paid_at, again.receipt_number) == (
        PaymentStatus.SUCCEEDED,
        payment.paid_at,
        payment.receipt_number,
    )
    assert Event.objects.filter(type="checkout.session.completed").count() == 2
    assert PaymentMethod.objects.filter(account=user).count() == 1
    assert AuditEvent.objects.count() == audits


def test_bad_signature_is_refused_and_changes_nothing(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment)
    session = _paid_session(fake_stripe, payment)
    reads_before = len(fake_stripe.requests)

    response = deliver(fake_stripe.event("checkout.session.completed", session), secret="whsec_forged")

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert fulfilled["success"] == []
    assert Event.objects.count() == 0
    assert len(fake_stripe.requests) == reads_before  # nothing was even re-read


def test_unsigned_delivery_is_refused(user, fake_stripe, client, webhook_endpoint):
    response = client.post(
        f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/", data="{}", content_type="application/json"
    )
    assert response.status_code == 400


def test_payload_saying_paid_is_not_trusted_when_stripe_says_unpaid(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment)
    payment.refresh_from_db()
    forged = copy.deepcopy(fake_stripe.objects[payment.external_id])
    forged.update(status="complete", payment_status="paid")

    assert deliver(fake_stripe.event("checkout.session.completed", forged)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert fulfilled["success"] == []

    session = _paid_session(fake_stripe, payment)  # the customer really pays: the next event credits
    assert deliver(fake_stripe.event("checkout.session.completed", session)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fulfilled["success"] == [payment.pk]


def test_amount_is_taken_from_stripe_not_the_payload(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user, amount="25.00")
    checkout_start(payment=payment)
    session = _paid_session(fake_stripe, payment)
    session["amount_total"] = 100  # Stripe says $1.00 was paid, the payload below claims $25.00
    payload = copy.deepcopy(session)
    payload["amount_total"] = 2500

    assert deliver(fake_stripe.event("checkout.session.completed", payload)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert fulfilled["success"] == []
    audit = AuditEvent.objects.get(event_type="payment.amount_mismatch")
    assert audit.details == {"expected_cents": 2500, "stripe_cents": 100, "currency": "usd"}


def test_card_is_not_saved_unless_asked(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment, methods=("alipay",))
    session = _paid_session(fake_stripe, payment)
    assert deliver(fake_stripe.event("checkout.session.completed", session)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert PaymentMethod.objects.count() == 0


def test_expired_checkout_cancels_the_payment_once(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment)
    payment.refresh_from_db()
    session = fake_stripe.objects[payment.external_id]
    session["status"] = "expired"
    event = fake_stripe.event("checkout.session.expired", session)
    assert deliver(event).status_code == 200
    assert deliver(fake_stripe.event("checkout.session.expired", session)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    assert fulfilled == {"success": [], "failure": [payment.pk]}


def _saved_card(fake_stripe, user, *, last4="4242"):
    provider = get_provider()
    pm = fake_stripe.payment_method(last4=last4, customer=provider.customer_id(user))
    return payment_method_save(account=user, provider="stripe", external_id=pm["id"], last4=last4)


def test_off_session_charge_succeeds_once_with_the_payment_key(user, fake_stripe, fulfilled):
    card = _saved_card(fake_stripe, user)
    payment = _topup(user, amount="19.99", key="auto_topup:7", purpose=PaymentPurpose.AUTO_TOPUP)

    payment = payment_charge_saved_method(payment=payment, payment_method=card)
    payment_charge_saved_method(payment=payment, payment_method=card)  # not pending any more: no call

    (charge,) = fake_stripe.posts("/v1/payment_intents")
    assert charge.idempotency_key == "auto_topup:7"
    assert charge.params["amount"] == "1999"
    assert charge.params["currency"] == "usd"
    assert charge.params["off_session"] == "true"
    assert charge.params["confirm"] == "true"
    assert charge.params["payment_method"] == card.external_id
    assert charge.params["customer"] == get_provider().customer_id(user)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.external_id.startswith("pi_test_")
    assert fulfilled["success"] == [payment.pk]


def test_declined_off_session_charge_fails_the_payment(user, fake_stripe, fulfilled):
    card = _saved_card(fake_stripe, user, last4="0002")
    fake_stripe.declined_payment_methods.add(card.external_id)
    payment = _topup(user, key="auto_topup:8", purpose=PaymentPurpose.AUTO_TOPUP)

    payment = payment_charge_saved_method(payment=payment, payment_method=card)

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "Your card was declined."
    assert fulfilled == {"success": [], "failure": [payment.pk]}


def test_payment_intent_webhooks_settle_off_session_charges(user, fake_stripe, deliver, fulfilled):
    card = _saved_card(fake_stripe, user)
    ok = _topup(user, amount="10.00", key="auto_topup:9", purpose=PaymentPurpose.AUTO_TOPUP)
    bad = _topup(user, amount="10.00", key="auto_topup:10", purpose=PaymentPurpose.AUTO_TOPUP)
    fake_stripe.processing_payment_methods.add(card.external_id)  # e.g. a bank still confirming
    ok = payment_charge_saved_method(payment=ok, payment_method=card)
    bad = payment_charge_saved_method(payment=bad, payment_method=card)
    assert (ok.status, bad.status) == (PaymentStatus.PENDING, PaymentStatus.PENDING)
    fake_stripe.objects[ok.external_id].update(status="succeeded", amount_received=1000)
    fake_stripe.objects[bad.external_id].update(
        status="requires_payment_method", last_payment_error={"message": "Insufficient funds."}
    )

    assert (
        deliver(
            fake_stripe.event("payment_intent.succeeded", fake_stripe.objects[ok.external_id])
        ).status_code
        == 200
    )
    assert (
        deliver(
            fake_stripe.event("payment_intent.payment_failed", fake_stripe.objects[bad.external_id])
        ).status_code
        == 200
    )
    assert (
        deliver(
            fake_stripe.event("payment_intent.succeeded", fake_stripe.objects[ok.external_id])
        ).status_code
        == 200
    )

    ok.refresh_from_db()
    bad.refresh_from_db()
    assert ok.status == PaymentStatus.SUCCEEDED
    assert (bad.status, bad.failure_message) == (PaymentStatus.FAILED, "Insufficient funds.")
    assert fulfilled == {"success": [ok.pk], "failure": [bad.pk]}


def test_refund_and_read_payment(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user, amount="25.00")
    checkout_start(payment=payment)
    payment.refresh_from_db()
    session_id = payment.external_id
    provider = get_provider()
    assert provider.read_payment(external_id=session_id).status == "pending"
    session = fake_stripe.complete_checkout(session_id)
    deliver(fake_stripe.event("checkout.session.completed", session))
    payment.refresh_from_db()

    info = provider.read_payment(external_id=session_id)
    assert (info.status, info.amount_usd, info.metadata["payment"]) == (
        "succeeded",
        Decimal("25.00"),
        str(payment.public_id),
    )
    assert provider.read_payment(external_id=payment.external_id).amount_usd == Decimal("25.00")

    result = provider.refund(payment=payment, amount_usd=Decimal("10.50"), idempotency_key="refund:1")

    (request,) = fake_stripe.posts("/v1/refunds")
    assert (request.idempotency_key, request.params["amount"], request.params["payment_intent"]) == (
        "refund:1",
        "1050",
        session["payment_intent"],
    )
    assert (result.status, result.external_id) == ("succeeded", fake_stripe.objects[result.external_id]["id"])


def test_every_outgoing_write_carries_our_idempotency_key(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment, save_method=True)
    deliver(fake_stripe.event("checkout.session.completed", _paid_session(fake_stripe, payment)))
    payment.refresh_from_db()
    card = PaymentMethod.objects.get(account=user)
    auto = _topup(user, key="auto_topup:11", purpose=PaymentPurpose.AUTO_TOPUP)
    payment_charge_saved_method(payment=auto, payment_method=card)
    get_provider().refund(payment=payment, amount_usd=Decimal("1"), idempotency_key="refund:2")

    keys = [(r.path, r.idempotency_key) for r in fake_stripe.posts()]
    assert keys == [
        ("/v1/customers", f"flowport:customer:{user.pk}:test"),
        ("/v1/checkout/sessions", "topup:1:checkout"),
        ("/v1/payment_intents", "auto_topup:11"),
        ("/v1/refunds", "refund:2"),
    ]
    assert {r.api_key for r in fake_stripe.requests} == {fake_stripe.api_key}


def test_payment_intent_event_first_still_saves_the_card_once(user, fake_stripe, deliver, fulfilled):
    payment = _topup(user)
    checkout_start(payment=payment, save_method=True)
    session = _paid_session(fake_stripe, payment, last4="5556")

    intent = fake_stripe.objects[session["payment_intent"]]
    assert deliver(fake_stripe.event("payment_intent.succeeded", intent)).status_code == 200
    assert deliver(fake_stripe.event("checkout.session.completed", session)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.external_id == intent["id"]
    assert fulfilled["success"] == [payment.pk]
    assert list(PaymentMethod.objects.values_list("external_id", "last4")) == [
        (intent["payment_method"], "5556")
    ]
