"""Payments: create, send to checkout, charge a saved method, and settle exactly once.

Other apps say what a successful (or failed) payment of their purpose does by registering handlers in
their AppConfig.ready(); `payment_succeed` calls the handler once, in the same transaction that marks
the payment paid, so fulfilment and payment can never disagree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.billing.models import Payment, PaymentMethod, PaymentStatus
from apps.billing.providers import get_provider
from apps.core.exceptions import ApplicationError
from apps.core.money import round_cents
from apps.core.services import audit_record


@dataclass(frozen=True)
class PaymentHandlers:
    on_success: Callable[[Payment], None]
    on_failure: Callable[[Payment], None] | None = None


_HANDLERS: dict[str, PaymentHandlers] = {}


def register_payment_handlers(purpose: str, *, on_success, on_failure=None) -> None:
    _HANDLERS[purpose] = PaymentHandlers(on_success=on_success, on_failure=on_failure)


def payment_create(
    *,
    account,
    purpose: str,
    amount_usd: Decimal,
    description: str,
    idempotency_key: str,
    metadata: dict | None = None,
    return_url: str = "",
    cancel_url: str = "",
    provider: str | None = None,
) -> Payment:
    """Create a pending payment, or return the one already made for this idempotency key."""
    amount = round_cents(amount_usd)
    if amount < 0:
        raise ApplicationError(_("A payment amount cannot be negative."), code="invalid_amount")
    payment, _created = Payment.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "account": account,
            "purpose": purpose,
            "amount_usd": amount,
            "description": description,
            "metadata": metadata or {},
            "return_url": return_url,
            "cancel_url": cancel_url,
            "provider": provider or get_provider().name,
        },
    )
    if payment.account_id != account.pk:
        raise ApplicationError(_("This payment belongs to another account."), code="not_found")
    return payment


def checkout_start(
    *, payment: Payment, methods: tuple[str, ...] = ("card",), save_method: bool = False
) -> str:
    """Open the provider's hosted checkout for a pending payment; returns the URL to send the customer to."""
    if payment.status != PaymentStatus.PENDING:
        raise ApplicationError(_("This payment is no longer open."), code="payment_closed")
    session = get_provider(payment.provider).start_checkout(
        payment=payment, methods=methods, save_method=save_method
    )
    payment.external_id = session.external_id
    payment.metadata = {**payment.metadata, "save_method": save_method}
    payment.save(update_fields=["external_id", "metadata", "updated_at"])
    return session.url


@transaction.atomic
def payment_succeed(
    *,
    payment_id: int,
    external_id: str = "",
    invoice_url: str = "",
    invoice_pdf_url: str = "",
    charged_usd: Decimal | None = None,
    metadata: dict | None = None,
) -> Payment:
    """Mark a payment paid and fulfil it, exactly once (a replay returns the payment unchanged).

    `charged_usd` is what the provider really charged when it sets the amount (a Stripe proration):
    the payment records that, so billing history and refunds match the provider's invoice; our own
    estimate stays in `metadata["quoted_usd"]`.
    """
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:
        return payment
    if payment.status != PaymentStatus.PENDING:
        raise ApplicationError(_("This payment is no longer open."), code="payment_closed")
    if metadata:
        payment.metadata = {**payment.metadata, **metadata}
    if charged_usd is not None and round_cents(charged_usd) != payment.amount_usd:
        payment.metadata = {**payment.metadata, "quoted_usd": str(payment.amount_usd)}
        payment.amount_usd = round_cents(charged_usd)
    payment.status = PaymentStatus.SUCCEEDED
    payment.paid_at = timezone.now()
    payment.receipt_number = f"FP-{payment.paid_at:%Y}-{payment.pk:07d}"
    payment.external_id = external_id or payment.external_id
    payment.invoice_url = invoice_url or payment.invoice_url
    payment.invoice_pdf_url = invoice_pdf_url or payment.invoice_pdf_url
    payment.save()
    audit_record(
        event_type="payment.succeeded",
        account=payment.account,
        subject=payment,
        details={
            "purpose": payment.purpose,
            "amount_usd": str(payment.amount_usd),
            "provider": payment.provider,
        },
    )
    handlers = _HANDLERS.get(payment.purpose)
    if handlers is not None:
        handlers.on_success(payment)
    return payment


@transaction.atomic
def payment_fail(*, payment_id: int, message: str = "", status: str = PaymentStatus.FAILED) -> Payment:
    """Mark a pending payment failed (or canceled) and run the purpose's failure handler once."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status != PaymentStatus.PENDING:
        return payment
    payment.status = status
    payment.failure_message = (message or "")[:300]
    payment.save(update_fields=["status", "failure_message", "updated_at"])
    audit_record(
        event_type=f"payment.{status}",
        account=payment.account,
        subject=payment,
        details={
            "purpose": payment.purpose,
            "amount_usd": str(payment.amount_usd),
            "message": payment.failure_message,
        },
    )
    handlers = _HANDLERS.get(payment.purpose)
    if handlers is not None and handlers.on_failure is not None:
        handlers.on_failure(payment)
    return payment


def payment_charge_saved_method(*, payment: Payment, payment_method: PaymentMethod) -> Payment:
    """Charge a saved method off-session (no row lock held during the provider call)."""
    if payment.status != PaymentStatus.PENDING:
        return payment
    result = get_provider(payment.provider).charge_saved_method(
        payment=payment, payment_method=payment_method
    )
    if result.status == "succeeded":
        return payment_succeed(
            payment_id=payment.pk,
            external_id=result.external_id,
            charged_usd=result.amount_usd,
            metadata=result.metadata,
        )
    if result.status == "failed":
        return payment_fail(payment_id=payment.pk, message=result.failure_message)
    Payment.objects.filter(pk=payment.pk).update(
        external_id=result.external_id
    )  # processing: webhook settles
    payment.refresh_from_db()
    return payment


def payment_method_save(
    *, account, provider: str, external_id: str, last4: str, brand: str = "card", make_default: bool = True
) -> PaymentMethod:
    """Save (or update) a payment method; the newest is the default."""
    with transaction.atomic():
        if make_default:
            PaymentMethod.objects.filter(account=account).update(is_default=False)
        method, _created = PaymentMethod.objects.update_or_create(
            provider=provider,
            external_id=external_id,
            defaults={"account": account, "last4": last4[-4:], "brand": brand, "is_default": make_default},
        )
        audit_record(
            event_type="payment_method.saved",
            account=account,
            actor=account,
            subject=method,
            details={"brand": brand, "last4": last4[-4:]},
        )
    return method


def payment_methods_close_for_account(*, account, now) -> dict:
    """`account_closing` handler: the deleted account's saved cards are forgotten (nothing can charge
    them again). The payments made with them stay."""
    removed, _per_model = PaymentMethod.objects.filter(account=account).delete()
    return {"payment_methods_removed": removed}


def customer_sync_invoice_details(*, account_id: int) -> None:
    """Send the account's current invoice details to the provider's customer (idempotent: it sends the
    current state, so a late or repeated run is harmless)."""
    from apps.accounts.models import User

    account = User.objects.get(pk=account_id)
    get_provider().customer_update_invoice_details(account=account)
