"""What a Stripe webhook does, as idempotent services. Each re-reads the object from Stripe first.

The webhook payload only says *which* object changed; the amount, status and period we act on come
from a fresh read through `StripeProvider` (no row lock is held during that read). Settlement then goes
through the generic billing services (`payment_succeed` / `payment_fail`, idempotent on the payment).
What a subscription or refund event means is decided by the app that owns that state, through the
hooks in `apps.billing.hooks` (plans and refunds register their handlers). A replayed or reordered
event therefore changes nothing the second time.
"""

import logging
import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from apps.billing import hooks
from apps.billing.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from apps.billing.providers.stripe import (
    StripeProvider,
    from_cents,
    from_timestamp,
    invoice_subscription_id,
    price_plan_tier,
    subscription_period,
    to_cents,
)
from apps.billing.services import payment_create, payment_fail, payment_method_save, payment_succeed
from apps.core.services import audit_record

logger = logging.getLogger(__name__)

PAID = ("paid", "no_payment_required")
OPEN = (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)

# Stripe subscription statuses in our two-state vocabulary (canceled ones arrive as `.deleted`).
SUBSCRIPTION_STATUS = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "incomplete": "past_due",
    "paused": "past_due",
}


def _payment_for(reference: str | None) -> Payment | None:
    """Our Stripe payment named by a public id (Checkout metadata / client_reference_id)."""
    try:
        public_id = uuid.UUID(str(reference))
    except ValueError:
        return None
    return Payment.objects.filter(public_id=public_id, provider="stripe").first()


def _amount_matches(payment: Payment, *, cents: int, currency: str) -> bool:
    """Credit only what Stripe says was paid; a mismatch is recorded and left for staff."""
    if currency == "usd" and cents == to_cents(payment.amount_usd):
        return True
    logger.error("Stripe amount %s %s does not match payment %s", cents, currency, payment.pk)
    with transaction.atomic():
        audit_record(
            event_type="payment.amount_mismatch",
            account=payment.account,
            subject=payment,
            details={
                "expected_cents": to_cents(payment.amount_usd),
                "stripe_cents": cents,
                "currency": currency,
            },
        )
    return False


def _save_card(provider: StripeProvider, *, account, method_id: str | None) -> None:
    if not method_id or PaymentMethod.objects.filter(provider="stripe", external_id=method_id).exists():
        return
    method = provider.read_payment_method(method_id)
    if method.get("type") != "card":
        return  # Alipay and other redirect methods cannot be charged off-session
    payment_method_save(
        account=account,
        provider="stripe",
        external_id=method["id"],
        last4=method["card"]["last4"],
        brand=method["card"]["brand"],
    )


def _succeed(payment: Payment, *, metadata: dict, external_id: str, invoice: dict | None = None) -> Payment:
    """Merge Stripe's facts into the pending payment's metadata, then settle it (once) — one transaction."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == PaymentStatus.PENDING and metadata:
            locked.metadata = {**locked.metadata, **metadata}
            locked.save(update_fields=["metadata", "updated_at"])
        return payment_succeed(
            payment_id=payment.pk,
            external_id=external_id,
            invoice_url=(invoice or {}).get("hosted_invoice_url") or "",
            invoice_pdf_url=(invoice or {}).get("invoice_pdf") or "",
        )


def stripe_checkout_session_settle(*, session_id: str) -> Payment | None:
    """`checkout.session.completed` / `async_payment_succeeded`: credit a paid session, save the card."""
    provider = StripeProvider()
    session = provider.read_checkout_session(session_id)
    payment = _payment_for(
        (session.get("metadata") or {}).get("payment") or session.get("client_reference_id")
    )
    if payment is None:
        logger.warning("Stripe checkout session %s has no Flowport payment", session_id)
        return None
    if session["payment_status"] not in PAID or payment.status != PaymentStatus.PENDING:
        return payment  # unpaid per Stripe, or settled already (card saved in that same transaction)
    if not _amount_matches(payment, cents=session["amount_total"], currency=session["currency"]):
        return payment
    invoice = None
    if session["mode"] == "subscription":
        remote = provider.read_subscription(session["subscription"])
        start, end = subscription_period(remote)
        if remote.get("latest_invoice"):
            invoice = provider.read_invoice(remote["latest_invoice"])
        external_id, method_id = remote["id"], remote.get("default_payment_method")
        metadata = {
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "subscription_external_id": remote["id"],
            **({"invoice": invoice["id"]} if invoice else {}),
        }
    else:
        intent = provider.read_intent(session["payment_intent"])
        if intent["status"] != "succeeded":
            return payment
        external_id, metadata = intent["id"], {"payment_intent": intent["id"]}
        method_id = intent.get("payment_method") if payment.metadata.get("save_method") else None
    _save_card(provider, account=payment.account, method_id=method_id)
    return _succeed(payment, metadata=metadata, external_id=external_id, invoice=invoice)


def stripe_checkout_session_close(*, session_id: str) -> Payment | None:
    """`checkout.session.expired` / `async_payment_failed`: the pending payment ends unpaid."""
    session = StripeProvider().read_checkout_session(session_id)
    payment = _payment_for(
        (session.get("metadata") or {}).get("payment") or session.get("client_reference_id")
    )
    if payment is None or session["payment_status"] in PAID:
        return payment
    if session["status"] == "expired":
        return payment_fail(
            payment_id=payment.pk, message=_("The checkout expired."), status=PaymentStatus.CANCELED
        )
    if session["status"] == "complete":  # async payment (e.g. a delayed method) failed
        return payment_fail(payment_id=payment.pk, message=_("The payment failed."))
    return payment


def stripe_payment_intent_settle(*, intent_id: str) -> Payment | None:
    """`payment_intent.succeeded` / `payment_failed` (off-session charges such as auto top-ups)."""
    provider = StripeProvider()
    intent = provider.read_intent(intent_id)
    payment = _payment_for((intent.get("metadata") or {}).get("payment"))
    if payment is None:
        payment = Payment.objects.filter(provider="stripe", external_id=intent["id"]).first()
    if payment is None or payment.status not in OPEN:
        return payment
    if intent["status"] == "succeeded":
        if payment.status != PaymentStatus.PENDING:
            return payment
        if not _amount_matches(payment, cents=intent["amount_received"], currency=intent["currency"]):
            return payment
        if payment.metadata.get("save_method"):  # this event may beat checkout.session.completed
            _save_card(provider, account=payment.account, method_id=intent.get("payment_method"))
        return _succeed(payment, metadata={"payment_intent": intent["id"]}, external_id=intent["id"])
    # A Checkout payment may retry inside the session: only its expiry ends it. Off-session ones end here.
    if intent["status"] in ("requires_payment_method", "canceled") and not payment.external_id.startswith(
        "cs_"
    ):
        message = (intent.get("last_payment_error") or {}).get("message") or _("The payment failed.")
        return payment_fail(payment_id=payment.pk, message=message)
    return payment


def _subscription_owner(subscription_id: str) -> hooks.SubscriptionOwner | None:
    if not subscription_id:
        return None
    return hooks.provider_subscription_owner.send_one(external_id=subscription_id)


def _plan_tier(remote_subscription) -> str | None:
    return price_plan_tier(remote_subscription["items"]["data"][0]["price"])


def stripe_invoice_paid(*, invoice_id: str) -> Payment | None:
    """`invoice.paid`: a renewal becomes one RENEWAL payment; an upgrade's proration invoice settles it."""
    provider = StripeProvider()
    invoice = provider.read_invoice(invoice_id)
    if invoice["status"] != "paid":
        return None
    invoice_links = {
        "hosted_invoice_url": invoice.get("hosted_invoice_url"),
        "invoice_pdf": invoice.get("invoice_pdf"),
    }
    if invoice["billing_reason"] == "subscription_update":
        payment = Payment.objects.filter(
            provider="stripe", purpose=PaymentPurpose.UPGRADE, external_id=invoice["id"]
        ).first()
        if payment is None or payment.status not in OPEN:
            return payment
        payment = _succeed(
            payment, metadata={"invoice": invoice["id"]}, external_id=invoice["id"], invoice=invoice_links
        )
        Payment.objects.filter(pk=payment.pk, invoice_url="").update(
            invoice_url=invoice.get("hosted_invoice_url") or "",
            invoice_pdf_url=invoice.get("invoice_pdf") or "",
        )
        return payment
    if invoice["billing_reason"] != "subscription_cycle":
        return None  # subscription_create: the checkout session settles it
    subscription_id = invoice_subscription_id(invoice)
    owner = _subscription_owner(subscription_id)
    if owner is None:
        logger.warning("Stripe invoice %s renews unknown subscription %s", invoice_id, subscription_id)
        return None
    tier = _plan_tier(provider.read_subscription(subscription_id)) or owner.plan_tier
    period = invoice["lines"]["data"][0]["period"]
    with transaction.atomic():
        payment = payment_create(
            account=owner.account,
            purpose=PaymentPurpose.RENEWAL,
            amount_usd=from_cents(invoice["amount_paid"]),
            description=_("Subscription renewal"),
            idempotency_key=f"stripe:invoice:{invoice['id']}",
            metadata={
                "plan": tier,
                "period_start": from_timestamp(period["start"]).isoformat(),
                "period_end": from_timestamp(period["end"]).isoformat(),
                "subscription_external_id": subscription_id,
                "invoice": invoice["id"],
            },
            provider="stripe",
        )
        if payment.status != PaymentStatus.PENDING:
            return payment
        return _succeed(payment, metadata={}, external_id=invoice["id"], invoice=invoice_links)


def stripe_invoice_payment_failed(*, invoice_id: str) -> Payment | None:
    """`invoice.payment_failed` on a renewal: a failed RENEWAL payment per attempt (-> past due)."""
    provider = StripeProvider()
    invoice = provider.read_invoice(invoice_id)
    if invoice["status"] == "paid" or invoice["billing_reason"] != "subscription_cycle":
        return None
    subscription_id = invoice_subscription_id(invoice)
    owner = _subscription_owner(subscription_id)
    if owner is None:
        return None
    period = invoice["lines"]["data"][0]["period"]
    with transaction.atomic():
        payment = payment_create(
            account=owner.account,
            purpose=PaymentPurpose.RENEWAL,
            amount_usd=from_cents(invoice["amount_due"]),
            description=_("Subscription renewal"),
            idempotency_key=f"stripe:invoice:{invoice['id']}:attempt:{invoice.get('attempt_count') or 1}",
            metadata={
                "plan": owner.plan_tier,
                "period_start": from_timestamp(period["start"]).isoformat(),
                "period_end": from_timestamp(period["end"]).isoformat(),
                "subscription_external_id": subscription_id,
                "invoice": invoice["id"],
            },
            provider="stripe",
        )
        return payment_fail(payment_id=payment.pk, message=_("The renewal payment failed."))


def stripe_subscription_sync(*, subscription_id: str) -> None:
    """`customer.subscription.updated`: re-read it and hand plan, period, status and cancel flag up."""
    remote = StripeProvider().read_subscription(subscription_id)
    status = SUBSCRIPTION_STATUS.get(remote["status"])
    if status is None:
        return
    start, end = subscription_period(remote)
    hooks.provider_subscription_changed.send(
        subscription=hooks.ProviderSubscription(
            external_id=subscription_id,
            status=status,
            plan_tier=_plan_tier(remote),
            period_start=start,
            period_end=end,
            cancel_at_period_end=bool(remote.get("cancel_at_period_end")),
        )
    )


def stripe_subscription_ended(*, subscription_id: str) -> None:
    """`customer.subscription.deleted`: once Stripe confirms it is canceled, hand that up."""
    remote = StripeProvider().read_subscription(subscription_id)
    if remote["status"] in ("canceled", "incomplete_expired"):
        hooks.provider_subscription_ended.send(external_id=subscription_id)


def stripe_refund_sync(*, refund_id: str) -> list:
    """`refund.updated` / `refund.failed`: re-read the refund and hand its status up."""
    remote = StripeProvider().read_refund(external_id=refund_id)
    return _refund_changed(external_id=remote.external_id, provider_status=remote.status)


def stripe_charge_refunds_sync(*, payment_intent_id: str) -> list:
    """`charge.refunded`: re-read every refund of the charge's PaymentIntent and hand each one up."""
    if not payment_intent_id:
        return []
    provider = StripeProvider()
    changed = []
    for remote in provider.list_refunds(payment_intent=payment_intent_id):
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "canceled"}.get(
            remote["status"], "pending"
        )
        changed += _refund_changed(external_id=remote["id"], provider_status=status)
    return changed


def _refund_changed(*, external_id: str, provider_status: str) -> list:
    results = hooks.provider_refund_changed.send(external_id=external_id, provider_status=provider_status)
    return [result for result in results if result is not None]
