"""dj-stripe webhook receivers: a few lines each, naming the object; the services re-read it from Stripe.

dj-stripe's view verifies the signature against the `WebhookEndpoint` secret and stores each event
once (a replayed event id is not dispatched again); these receivers run inside that transaction, so a
failure rolls everything back and Stripe retries.
"""

from djstripe.event_handlers import djstripe_receiver

from apps.billing import stripe_services

# Every event type Flowport acts on (enable exactly these on the Stripe webhook endpoint).
HANDLED_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)


def _object_id(event) -> str:
    return event.data["object"]["id"]


@djstripe_receiver(["checkout.session.completed", "checkout.session.async_payment_succeeded"])
def checkout_session_paid(sender, event, **kwargs):
    stripe_services.stripe_checkout_session_settle(session_id=_object_id(event))


@djstripe_receiver(["checkout.session.expired", "checkout.session.async_payment_failed"])
def checkout_session_closed(sender, event, **kwargs):
    stripe_services.stripe_checkout_session_close(session_id=_object_id(event))


@djstripe_receiver(["payment_intent.succeeded", "payment_intent.payment_failed"])
def payment_intent_changed(sender, event, **kwargs):
    stripe_services.stripe_payment_intent_settle(intent_id=_object_id(event))


@djstripe_receiver("invoice.paid")
def invoice_paid(sender, event, **kwargs):
    stripe_services.stripe_invoice_paid(invoice_id=_object_id(event))


@djstripe_receiver("invoice.payment_failed")
def invoice_payment_failed(sender, event, **kwargs):
    stripe_services.stripe_invoice_payment_failed(invoice_id=_object_id(event))


@djstripe_receiver("customer.subscription.updated")
def subscription_updated(sender, event, **kwargs):
    stripe_services.stripe_subscription_sync(subscription_id=_object_id(event))


@djstripe_receiver("customer.subscription.deleted")
def subscription_deleted(sender, event, **kwargs):
    stripe_services.stripe_subscription_ended(subscription_id=_object_id(event))


@djstripe_receiver(["refund.updated", "refund.failed"])
def refund_changed(sender, event, **kwargs):
    stripe_services.stripe_refund_sync(refund_id=_object_id(event))


@djstripe_receiver("charge.refunded")
def charge_refunded(sender, event, **kwargs):
    stripe_services.stripe_charge_refunds_sync(
        payment_intent_id=event.data["object"].get("payment_intent") or ""
    )


@djstripe_receiver(
    [
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    ]
)
def dispute_changed(sender, event, **kwargs):
    stripe_services.stripe_dispute_sync(dispute_id=_object_id(event))
