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
from decimal import Decimal

import stripe
from django.contrib.auth import get_user_model
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


def _succeed(
    payment: Payment,
    *,
    metadata: dict,
    external_id: str,
    invoice: dict | None = None,
    charged_usd: Decimal | None = None,
) -> Payment:
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
            charged_usd=charged_usd,
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
        current = hooks.provider_subscription_current.send_one(account=payment.account)
        replaces = ""
        if current and current.external_id != remote["id"] and _still_live(provider, current.external_id):
            if current.active:
                return _refuse_second_subscription(
                    provider, payment=payment, remote=remote, current=current.external_id
                )
            replaces = current.external_id  # past due, paid again by a new checkout: the old one must end
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
    try:
        settled = _succeed(payment, metadata=metadata, external_id=external_id, invoice=invoice)
    except hooks.ProviderSubscriptionConflict as conflict:  # lost a race with another paid checkout
        return _refuse_second_subscription(provider, payment=payment, remote=remote, current=conflict.current)
    if session["mode"] == "subscription" and replaces and settled.status == PaymentStatus.SUCCEEDED:
        _end_replaced(provider, subscription_id=replaces, payment=settled)
    return settled


def _end_replaced(provider: StripeProvider, *, subscription_id: str, payment: Payment) -> None:
    """The past-due subscription a new checkout replaced: cancel it so Stripe stops retrying its invoice."""
    try:
        provider.client.v1.subscriptions.cancel(
            subscription_id,
            params={"prorate": False},
            options={"idempotency_key": f"flowport:replaced:{subscription_id}"},
        )
    except stripe.StripeError:  # the webhook is retried by Stripe only on failure; staff see the audit
        logger.exception("Canceling replaced Stripe subscription %s failed", subscription_id)
    with transaction.atomic():
        audit_record(
            event_type="payment.replaced_subscription_canceled",
            account=payment.account,
            subject=payment,
            details={"replaced": subscription_id},
        )


ENDED = ("canceled", "incomplete_expired")


def _still_live(provider: StripeProvider, subscription_id: str) -> bool:
    try:
        return provider.read_subscription(subscription_id)["status"] not in ENDED
    except stripe.InvalidRequestError:  # gone from Stripe (deleted test data): not live
        return False


def _end_and_refund(provider: StripeProvider, remote, *, key: str) -> str:
    """Cancel a Stripe subscription now (no proration) and refund its latest paid invoice in full.

    Returns the refund id ("" when nothing was paid). Idempotent on `key`, so a webhook retry neither
    cancels nor refunds twice.
    """
    if remote["status"] not in ENDED:
        provider.client.v1.subscriptions.cancel(
            remote["id"], params={"prorate": False}, options={"idempotency_key": f"{key}:cancel"}
        )
    invoice_id = remote.get("latest_invoice")
    invoice_id = invoice_id if isinstance(invoice_id, str) or invoice_id is None else invoice_id["id"]
    if not invoice_id:
        return ""
    invoice = provider.read_invoice(invoice_id)
    if invoice["status"] != "paid" or not invoice["amount_paid"]:
        return ""
    stand_in = Payment(metadata={"invoice": invoice_id}, external_id=invoice_id)
    refund = provider.client.v1.refunds.create(
        params={
            **provider.paid_by(stand_in),
            "amount": invoice["amount_paid"],
            "metadata": {"subscription": remote["id"], "reason": "duplicate_subscription"},
        },
        options={"idempotency_key": f"{key}:refund"},
    )
    return refund["id"]


def _refuse_second_subscription(
    provider: StripeProvider, *, payment: Payment, remote, current: str
) -> Payment:
    """A second subscription checkout was paid while the account already pays for one (two tabs).

    Two live subscriptions would charge the customer twice a month, so the newer one is canceled at
    once and its first invoice refunded in full; the payment ends canceled with the reason in billing
    history (what the customer sees) and an audit event for staff. The plan stays as it is: the
    customer can upgrade from it, paying only the prorated difference.
    """
    refund_id = _end_and_refund(provider, remote, key=f"flowport:duplicate:{remote['id']}")
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            metadata={
                **payment.metadata,
                "subscription_external_id": remote["id"],
                "duplicate_of": current,
                "refund": refund_id,
            }
        )
        audit_record(
            event_type="payment.duplicate_subscription_refunded",
            account=payment.account,
            subject=payment,
            details={"subscription": remote["id"], "kept": current, "refund": refund_id},
        )
        return payment_fail(
            payment_id=payment.pk,
            message=_(
                "You already had a paid plan when this checkout was paid: this second subscription was "
                "canceled and refunded in full. To change plans, upgrade or downgrade instead."
            ),
            status=PaymentStatus.CANCELED,
        )


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
            payment,
            metadata={"invoice": invoice["id"]},
            external_id=invoice["id"],
            invoice=invoice_links,
            charged_usd=from_cents(invoice["amount_paid"]),  # what Stripe invoiced, not our preview
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
        return _stray_renewal(provider, invoice=invoice, subscription_id=subscription_id)
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


def _stray_renewal(provider: StripeProvider, *, invoice, subscription_id: str) -> None:
    """A renewal of a subscription no account of ours pays for (a duplicate, or one whose cancel after a
    refund failed): never keep that money. If Stripe says the subscription is Flowport's (our metadata),
    it is canceled and the renewal refunded in full, with an audit event; otherwise it is only logged."""
    remote = provider.read_subscription(subscription_id) if subscription_id else None
    account_id = ((remote or {}).get("metadata") or {}).get("account")
    if remote is None or not account_id:
        logger.warning("Stripe invoice %s renews unknown subscription %s", invoice["id"], subscription_id)
        return
    remote = {**remote, "latest_invoice": invoice["id"]}
    refund_id = _end_and_refund(provider, remote, key=f"flowport:stray:{invoice['id']}")
    account = get_user_model().objects.filter(pk=account_id).first()
    logger.error("Stripe renewed unknown subscription %s; canceled and refunded", subscription_id)
    if account is not None:
        with transaction.atomic():
            audit_record(
                event_type="payment.stray_renewal_refunded",
                account=account,
                subject=None,
                details={"subscription": subscription_id, "invoice": invoice["id"], "refund": refund_id},
            )


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


# Stripe dispute statuses in our vocabulary: open (funds held, evidence pending), won, lost.
DISPUTE_STATUS = {"won": "won", "lost": "lost", "prevented": "won", "warning_closed": "won"}


def stripe_dispute_sync(*, dispute_id: str) -> Payment | None:
    """`charge.dispute.*`: re-read the dispute, record it on the payment it disputes, hand it up.

    Recorded once per status on the payment (`metadata["dispute"]`) with an audit event staff see. An
    open dispute raises a healthy account to `monitored` with the reason; a won dispute puts back the
    status it raised. What the disputed credits do is the crediting app's decision (the hook).
    """
    from apps.accounts.models import AccountStatus
    from apps.accounts.services import account_set_status

    dispute = StripeProvider().client.v1.disputes.retrieve(dispute_id)
    intent_id = dispute.get("payment_intent") or ""
    payment = (
        Payment.objects.filter(provider="stripe", metadata__payment_intent=intent_id).first()
        or Payment.objects.filter(provider="stripe", external_id=intent_id).first()
        if intent_id
        else None
    )
    if payment is None:
        logger.error("Stripe dispute %s names no payment of ours (%s)", dispute_id, intent_id)
        return None
    status = DISPUTE_STATUS.get(dispute["status"], "open")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("account").get(pk=payment.pk)
        before = payment.metadata.get("dispute") or {}
        if before.get("status") == status and before.get("id") == dispute["id"]:
            return payment  # a replayed or repeated event
        account = payment.account
        raised = before.get("raised_account_status", False)
        if status == "open" and account.status == AccountStatus.HEALTHY:
            account_set_status(
                account=account,
                status=AccountStatus.MONITORED,
                reason=_("Payment disputed with the bank (%(reason)s).") % {"reason": dispute["reason"]},
                actor=None,
            )
            raised = True
        elif status == "won" and raised and account.status == AccountStatus.MONITORED:
            account_set_status(
                account=account,
                status=AccountStatus.HEALTHY,
                reason=_("Payment dispute won."),
                actor=None,
            )
            raised = False
        payment.metadata = {
            **payment.metadata,
            "dispute": {
                "id": dispute["id"],
                "status": status,
                "reason": dispute["reason"],
                "amount_usd": str(from_cents(dispute["amount"])),
                "raised_account_status": raised,
            },
        }
        payment.save(update_fields=["metadata", "updated_at"])
        audit_record(
            event_type=f"payment.dispute_{status}",
            account=account,
            subject=payment,
            details={
                "dispute": dispute["id"],
                "reason": dispute["reason"],
                "amount_cents": dispute["amount"],
            },
        )
        hooks.provider_payment_disputed.send(
            payment=payment,
            dispute_id=dispute["id"],
            status=status,
            amount_usd=from_cents(dispute["amount"]),
            reason=dispute["reason"],
        )
    return payment
