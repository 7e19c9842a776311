"""The Stripe side of subscriptions that needs only billing: Checkout, Subscription.modify, schedules,
cancellation, and the RENEWAL payments webhooks create. (Plan changes they cause: test_stripe_subscriptions.)"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.billing.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import payment_create
from apps.plans.models import Plan, Subscription

pytestmark = pytest.mark.django_db


def iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


def _link(user, sub_id, tier="pro"):
    """What the plans app records on subscribe (its handler does this once `subs` is merged)."""
    Subscription.objects.filter(account=user).update(external_id=sub_id, plan=Plan.objects.get(tier=tier))
    return Subscription.objects.get(account=user)


def _upgrade_payment(user, key="upgrade:1", amount="40.00"):
    return payment_create(
        account=user,
        purpose=PaymentPurpose.UPGRADE,
        amount_usd=Decimal(amount),
        description="Upgrade to Max",
        idempotency_key=key,
        metadata={"plan": "max"},
        provider="stripe",
    )


def test_subscription_checkout_uses_the_plans_monthly_price(user, fake_stripe, stripe_subscribe):
    other = type(user).objects.create_user(email="second@example.com", password="x-Pass-2026!")
    payment, sub_id = stripe_subscribe(user, "pro")
    stripe_subscribe(other, "pro")

    (price_request,) = fake_stripe.posts("/v1/prices")  # found by lookup_key the second time
    assert price_request.idempotency_key == "flowport:price:flowport-pro-2000"
    assert price_request.params == {
        "currency": "usd",
        "unit_amount": "2000",
        "recurring": {"interval": "month"},
        "lookup_key": "flowport-pro-2000",
        "metadata": {"plan": "pro"},
        "product_data": {"name": "Flowport Pro", "metadata": {"plan": "pro"}},
    }
    price_id = fake_stripe.objects[sub_id]["items"]["data"][0]["price"]["id"]
    session_request = fake_stripe.posts("/v1/checkout/sessions")[0]
    assert session_request.idempotency_key == f"subscribe:{user.pk}:pro:checkout"
    params = session_request.params
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": price_id, "quantity": "1"}]
    assert params["payment_method_types"] == ["card"]
    assert params["client_reference_id"] == str(payment.public_id)
    assert params["metadata"] == {"payment": str(payment.public_id), "purpose": "subscription", "plan": "pro"}
    assert params["success_url"] == "https://portal.test/console/subscription/"
    assert params["cancel_url"] == "https://portal.test/pricing/"


def test_subscription_checkout_completed_records_stripes_period(user, fake_stripe, stripe_subscribe):
    payment, sub_id = stripe_subscribe(user, "pro")

    item = fake_stripe.objects[sub_id]["items"]["data"][0]
    invoice = fake_stripe.objects[fake_stripe.objects[sub_id]["latest_invoice"]]
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.external_id == sub_id
    assert payment.amount_usd == Decimal("20.00")
    assert payment.metadata == {
        "plan": "pro",
        "period_start": iso(item["current_period_start"]),
        "period_end": iso(item["current_period_end"]),
        "subscription_external_id": sub_id,
        "invoice": invoice["id"],
    }
    assert (payment.invoice_url, payment.invoice_pdf_url) == (
        invoice["hosted_invoice_url"],
        invoice["invoice_pdf"],
    )
    card = PaymentMethod.objects.get(account=user)
    assert card.external_id == fake_stripe.objects[sub_id]["default_payment_method"]


def test_upgrade_modifies_the_subscription_with_an_immediate_proration_invoice(
    user, fake_stripe, stripe_subscribe
):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)
    payment = _upgrade_payment(user)

    result = get_provider().subscription_upgrade(
        subscription=subscription, new_plan=Plan.objects.get(tier="max"), payment=payment
    )

    (modify,) = fake_stripe.posts(f"/v1/subscriptions/{sub_id}")
    remote = fake_stripe.objects[sub_id]
    item = remote["items"]["data"][0]
    assert modify.idempotency_key == "upgrade:1"
    assert modify.params == {
        "items": [{"id": item["id"], "price": item["price"]["id"]}],
        "proration_behavior": "always_invoice",
        "payment_behavior": "error_if_incomplete",
        "cancel_at_period_end": "false",
        "metadata": {"plan": "max"},
        "expand": ["latest_invoice"],
    }
    assert item["price"]["lookup_key"] == "flowport-max-10000"
    assert (result.status, result.external_id) == ("succeeded", remote["latest_invoice"])
    assert fake_stripe.objects[result.external_id]["billing_reason"] == "subscription_update"


def test_declined_upgrade_fails_and_leaves_the_subscription(user, fake_stripe, stripe_subscribe):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)
    fake_stripe.declined_payment_methods.add(fake_stripe.objects[sub_id]["default_payment_method"])

    result = get_provider().subscription_upgrade(
        subscription=subscription, new_plan=Plan.objects.get(tier="max"), payment=_upgrade_payment(user)
    )

    assert (result.status, result.failure_message) == ("failed", "Your card was declined.")
    assert fake_stripe.objects[sub_id]["items"]["data"][0]["price"]["lookup_key"] == "flowport-pro-2000"


def test_processing_upgrade_is_settled_by_the_proration_invoice(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)
    payment = _upgrade_payment(user)
    result = get_provider().subscription_upgrade(
        subscription=subscription, new_plan=Plan.objects.get(tier="max"), payment=payment
    )
    Payment.objects.filter(pk=payment.pk).update(external_id=result.external_id)  # as for "processing"
    invoice = fake_stripe.objects[result.external_id]

    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.invoice_url == invoice["hosted_invoice_url"]
    assert Payment.objects.filter(purpose=PaymentPurpose.UPGRADE).count() == 1


def test_cancel_at_period_end_and_undo(user, fake_stripe, stripe_subscribe):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)
    provider = get_provider()
    free = Plan.objects.get(tier="free")

    def change(plan):  # as the plans app does: record the scheduled plan, then tell the provider
        subscription.scheduled_plan = plan
        subscription.save()
        provider.subscription_schedule_change(subscription=subscription, plan=plan)

    change(free)
    assert fake_stripe.objects[sub_id]["cancel_at_period_end"] is True
    provider.subscription_schedule_change(subscription=subscription, plan=free)  # a retry: same key
    change(None)
    assert fake_stripe.objects[sub_id]["cancel_at_period_end"] is False
    change(free)
    assert fake_stripe.objects[sub_id]["cancel_at_period_end"] is True

    writes = fake_stripe.posts(f"/v1/subscriptions/{sub_id}")
    assert [w.params for w in writes] == [
        {"cancel_at_period_end": "true"},
        {"cancel_at_period_end": "true"},
        {"cancel_at_period_end": "false"},
        {"cancel_at_period_end": "true"},
    ]
    keys = [w.idempotency_key for w in writes]
    assert all(keys)
    assert keys[0] == keys[1]  # the retry replays Stripe's first answer
    assert len({keys[0], keys[2], keys[3]}) == 3  # each real change is its own request


def test_downgrade_to_a_cheaper_plan_is_a_schedule_phase_then_undo_releases_it(
    user, fake_stripe, stripe_subscribe
):
    _payment, sub_id = stripe_subscribe(user, "max")
    subscription = _link(user, sub_id, tier="max")
    provider = get_provider()

    provider.subscription_schedule_change(subscription=subscription, plan=Plan.objects.get(tier="pro"))

    remote = fake_stripe.objects[sub_id]
    item = remote["items"]["data"][0]
    schedule = fake_stripe.objects[remote["schedule"]]
    pro_price = next(o for o in fake_stripe.objects.values() if o.get("lookup_key") == "flowport-pro-2000")
    (create,) = fake_stripe.posts("/v1/subscription_schedules")[:1]
    assert create.params == {"from_subscription": sub_id}
    update = fake_stripe.posts(f"/v1/subscription_schedules/{schedule['id']}")[0]
    assert update.params == {
        "end_behavior": "release",
        "phases": [
            {
                "items": [{"price": item["price"]["id"], "quantity": "1"}],
                "start_date": str(item["current_period_start"]),
                "end_date": str(item["current_period_end"]),
            },
            {
                "items": [{"price": pro_price["id"], "quantity": "1"}],
                "duration": {"interval": "month", "interval_count": "1"},
                "metadata": {"plan": "pro"},
            },
        ],
    }
    assert all(r.idempotency_key for r in fake_stripe.posts("/v1/subscription_schedules"))

    provider.subscription_schedule_change(subscription=subscription, plan=None)

    assert schedule["status"] == "released"
    assert remote["schedule"] is None
    assert remote["cancel_at_period_end"] is False


def test_cancel_now_cancels_without_proration(user, fake_stripe, stripe_subscribe):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)

    get_provider().subscription_cancel_now(subscription=subscription)

    (cancel,) = [r for r in fake_stripe.requests if r.method == "DELETE"]
    assert (cancel.path, cancel.params, cancel.idempotency_key) == (
        f"/v1/subscriptions/{sub_id}",
        {"prorate": "false"},
        f"flowport:{sub_id}:cancel_now",
    )
    assert fake_stripe.objects[sub_id]["status"] == "canceled"


def test_renew_is_left_to_stripe(user, fake_stripe, stripe_subscribe):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription = _link(user, sub_id)
    writes = len(fake_stripe.posts())
    result = get_provider().subscription_renew(subscription=subscription, payment=None)
    assert result.status == "processing"
    assert len(fake_stripe.posts()) == writes


def test_renewal_invoice_becomes_one_renewal_payment(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    _link(user, sub_id)
    invoice = fake_stripe.renew(sub_id)
    event = fake_stripe.event("invoice.paid", invoice)

    assert deliver(event).status_code == 200
    assert deliver(event).status_code == 200
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    (renewal,) = Payment.objects.filter(purpose=PaymentPurpose.RENEWAL)
    period = invoice["lines"]["data"][0]["period"]
    assert renewal.status == PaymentStatus.SUCCEEDED
    assert renewal.idempotency_key == f"stripe:invoice:{invoice['id']}"
    assert renewal.amount_usd == Decimal("20.00")
    assert renewal.external_id == invoice["id"]
    assert renewal.invoice_url == invoice["hosted_invoice_url"]
    assert renewal.metadata == {
        "plan": "pro",
        "period_start": iso(period["start"]),
        "period_end": iso(period["end"]),
        "subscription_external_id": sub_id,
        "invoice": invoice["id"],
    }


def test_failed_renewal_attempt_is_a_failed_renewal_payment(user, fake_stripe, stripe_subscribe, deliver):
    _payment, sub_id = stripe_subscribe(user, "pro")
    _link(user, sub_id)
    invoice = fake_stripe.renew(sub_id, paid=False)

    assert deliver(fake_stripe.event("invoice.payment_failed", invoice)).status_code == 200
    assert deliver(fake_stripe.event("invoice.payment_failed", invoice)).status_code == 200

    (failed,) = Payment.objects.filter(purpose=PaymentPurpose.RENEWAL)
    assert failed.status == PaymentStatus.FAILED
    assert failed.idempotency_key == f"stripe:invoice:{invoice['id']}:attempt:1"
    assert failed.amount_usd == Decimal("20.00")

    invoice.update(status="paid", amount_paid=2000)  # Stripe's retry succeeds later
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200
    paid = Payment.objects.get(idempotency_key=f"stripe:invoice:{invoice['id']}")
    assert paid.status == PaymentStatus.SUCCEEDED


def test_refunds_of_subscription_payments_go_to_the_invoices_payment_intent(
    user, fake_stripe, stripe_subscribe, deliver
):
    payment, sub_id = stripe_subscribe(user, "pro")
    _link(user, sub_id)
    invoice = fake_stripe.renew(sub_id)
    deliver(fake_stripe.event("invoice.paid", invoice))
    renewal = Payment.objects.get(purpose=PaymentPurpose.RENEWAL)
    provider = get_provider()

    first = provider.refund(payment=payment, amount_usd=Decimal("20.00"), idempotency_key="refund:sub")
    second = provider.refund(payment=renewal, amount_usd=Decimal("5.25"), idempotency_key="refund:renewal")

    subscribe_invoice = payment.metadata["invoice"]
    assert [
        (r.params["payment_intent"], r.params["amount"], r.idempotency_key)
        for r in fake_stripe.posts("/v1/refunds")
    ] == [
        (fake_stripe.invoice_payments[subscribe_invoice], "2000", "refund:sub"),
        (fake_stripe.invoice_payments[invoice["id"]], "525", "refund:renewal"),
    ]
    assert (first.status, second.status) == ("succeeded", "succeeded")
