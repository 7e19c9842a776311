"""Top-ups by checkout, auto top-up off-session charges, and the wallet's alert settings."""

import logging
import re
import uuid
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.billing.models import Payment, PaymentPurpose
from apps.billing.selectors import payment_method_default
from apps.billing.services import checkout_start, payment_charge_saved_method, payment_create
from apps.core.exceptions import ApplicationError
from apps.core.money import round_cents
from apps.core.services import audit_record
from apps.wallet import jobs
from apps.wallet.models import (
    GrantSource,
    Wallet,
)
from apps.wallet.services.ledger import (
    DESCRIPTION_AUTO_TOPUP,
    DESCRIPTION_BONUS,
    DESCRIPTION_TOPUP,
    _save,
    wallet_credit,
    wallet_lock,
)

TOPUP_MIN = Decimal("5.00")
TOPUP_MAX = Decimal("25000.00")
logger = logging.getLogger(__name__)

TOPUP_BONUS_RATE = Decimal("0.20")
# Payment descriptions are stored in English, whatever language the payer browsed in, and shown in the
# reader's language ({% translate payment.description %} on pages, gettext in the PDF receipt).
PAYMENT_DESCRIPTION_TOPUP = gettext_noop("Pay-as-you-go top-up")
PAYMENT_DESCRIPTION_AUTO_TOPUP = gettext_noop("Auto top-up")


def topup_bonus(amount: Decimal) -> Decimal:
    """The bonus a top-up of `amount` USD earns (rounded to the cent, half-up)."""
    return round_cents(amount * TOPUP_BONUS_RATE)


_AMOUNT_RE = re.compile(r"^-?\d+(\.\d*)?$|^-?\.\d+$")


def _finite_between(value, low: Decimal, high: Decimal) -> bool:
    """A finite number in [low, high], checked before any rounding (1e30 cannot be rounded to cents)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return False
    value = Decimal(value)
    return value.is_finite() and low <= value <= high


def topup_amount_parse(value) -> Decimal:
    """A top-up amount from user input: $5 to $25,000 in whole cents, or ApplicationError (nothing made)."""
    text = str(value if value is not None else "").strip().replace(",", "").removeprefix("$").strip()
    if not text:
        raise ApplicationError(_("Enter an amount."), code="invalid_amount")
    if not _AMOUNT_RE.match(text):
        raise ApplicationError(
            _("Enter the amount as a number, for example 100 or 25.50."), code="invalid_amount"
        )
    try:
        amount = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only valid decimals
        raise ApplicationError(
            _("Enter the amount as a number, for example 100 or 25.50."), code="invalid_amount"
        ) from error
    if amount < 0:
        raise ApplicationError(_("The amount cannot be negative."), code="invalid_amount")
    # The range before the cents check: quantizing a 30-digit amount would overflow Decimal's precision.
    if amount > TOPUP_MAX:
        raise ApplicationError(_("The maximum top-up is $25,000.00."), code="invalid_amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError(_("Use whole cents: at most two decimal places."), code="invalid_amount")
    if amount < TOPUP_MIN:
        raise ApplicationError(_("The minimum top-up is $5.00."), code="invalid_amount")
    return round_cents(amount)


# ----------------------------------------------------------------------------------------------- top-up


def wallet_topup_start(
    *, account, amount, return_url: str, cancel_url: str, save_method: bool = False
) -> str:
    """Validate the amount, create the pending payment and open checkout (card or Alipay); returns the URL."""
    amount = topup_amount_parse(amount)
    payment = payment_create(
        account=account,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=amount,
        description=PAYMENT_DESCRIPTION_TOPUP,
        idempotency_key=f"wallet-topup:{uuid.uuid4()}",
        return_url=return_url,
        cancel_url=cancel_url,
    )
    methods = ("card",) if save_method else ("card", "alipay")
    return checkout_start(payment=payment, methods=methods, save_method=save_method)


def _bonus_expiry():
    days = getattr(settings, "FLOWPORT_BONUS_EXPIRY_DAYS", None)
    return timezone.now() + timedelta(days=days) if days else None


def _credit_topup(payment: Payment, *, description: str) -> None:
    key = payment.idempotency_key
    wallet_credit(
        account=payment.account,
        amount=payment.amount_usd,
        source_type=GrantSource.TOP_UP,
        idempotency_key=f"topup:{key}",
        description=description,
        payment=payment,
    )
    bonus = topup_bonus(payment.amount_usd)
    if bonus > 0:
        wallet_credit(
            account=payment.account,
            amount=bonus,
            source_type=GrantSource.BONUS,
            idempotency_key=f"bonus:{key}",
            description=DESCRIPTION_BONUS,
            expires_at=_bonus_expiry(),
            payment=payment,
        )


def wallet_topup_fulfil(payment: Payment) -> None:
    """TOPUP payment handler (runs once, inside payment_succeed's transaction)."""
    _credit_topup(payment, description=DESCRIPTION_TOPUP)


def wallet_auto_topup_fulfil(payment: Payment) -> None:
    """AUTO_TOPUP payment handler: credit like a top-up (20% bonus included) and clear pending."""
    _credit_topup(payment, description=DESCRIPTION_AUTO_TOPUP)
    Wallet.objects.filter(account=payment.account).update(auto_topup_pending=False, updated_at=timezone.now())


def wallet_auto_topup_failed(payment: Payment) -> None:
    """AUTO_TOPUP failure handler: auto top-up off, pending cleared, the user told once."""
    wallet_auto_topup_disable(
        account=payment.account, reason=payment.failure_message or _("The charge failed.")
    )


@transaction.atomic
def wallet_auto_topup_disable(*, account, reason: str) -> Wallet:
    wallet = wallet_lock(account=account)
    was_on = wallet.auto_topup_enabled or wallet.auto_topup_pending
    wallet.auto_topup_enabled = False
    wallet.auto_topup_pending = False
    _save(wallet, ["auto_topup_enabled", "auto_topup_pending"])
    if was_on:
        audit_record(
            event_type="wallet.auto_topup_disabled",
            account=account,
            subject=wallet,
            details={"reason": reason[:300]},
        )
        wallet_id, text = wallet.pk, reason[:300]
        transaction.on_commit(
            lambda: jobs.auto_topup_failed_notice_due.send(wallet_id=wallet_id, reason=text)
        )
    return wallet


def wallet_auto_topup_charge(*, wallet_id: int, seq: int) -> Payment | None:
    """Charge the saved card for one threshold crossing (idempotent on the crossing). No lock held."""
    wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
    if not wallet.auto_topup_pending or wallet.auto_topup_seq != seq:
        return None
    method = payment_method_default(account=wallet.account)
    if method is None:
        wallet_auto_topup_disable(account=wallet.account, reason=_("No saved payment method."))
        return None
    payment = payment_create(
        account=wallet.account,
        purpose=PaymentPurpose.AUTO_TOPUP,
        amount_usd=wallet.auto_topup_amount,
        description=PAYMENT_DESCRIPTION_AUTO_TOPUP,
        idempotency_key=f"auto_topup:{wallet.pk}:{seq}",
        metadata={"wallet_crossing": seq},
        provider=method.provider,
    )
    return payment_charge_saved_method(payment=payment, payment_method=method)


def wallet_auto_topup_retry_stale(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Re-run the charge of crossings still pending after `older_than` (a lost task or worker).
    Safe: the charge is idempotent on the crossing (payment key and provider idempotency key)."""
    stale = Wallet.objects.filter(
        auto_topup_pending=True, updated_at__lt=timezone.now() - older_than
    ).values_list("pk", "auto_topup_seq")
    count = 0
    for wallet_id, seq in list(stale[:500]):
        try:
            wallet_auto_topup_charge(wallet_id=wallet_id, seq=seq)
        except Exception:  # one provider error (a 5xx, a 429) must not stall the wallets after it
            logger.exception("Auto top-up retry of wallet %s failed; the next run retries it", wallet_id)
        count += 1
    return count


@transaction.atomic
def wallet_auto_topup_update(
    *, account, enabled: bool, threshold: Decimal, amount: Decimal, actor=None
) -> Wallet:
    if not _finite_between(threshold, Decimal("0.005"), TOPUP_MAX):  # rounds to $0.01 at least
        raise ApplicationError(
            _("The threshold must be between $0.01 and $25,000.00."), code="invalid_threshold"
        )
    threshold = round_cents(threshold)
    amount = topup_amount_parse(amount)
    if enabled and payment_method_default(account=account) is None:
        raise ApplicationError(
            _("Save a payment method before turning on auto top-up."), code="no_payment_method"
        )
    wallet = wallet_lock(account=account)
    wallet.auto_topup_enabled = enabled
    wallet.auto_topup_threshold = threshold
    wallet.auto_topup_amount = amount
    if not enabled:
        wallet.auto_topup_pending = False
    _save(wallet, ["auto_topup_enabled", "auto_topup_threshold", "auto_topup_amount", "auto_topup_pending"])
    audit_record(
        event_type="wallet.auto_topup_updated",
        account=account,
        actor=actor or account,  # the owner's own setting unless staff changed it
        subject=wallet,
        details={"enabled": enabled, "threshold": str(threshold), "amount": str(amount)},
    )
    return wallet


@transaction.atomic
def wallet_low_balance_alert_update(*, account, enabled: bool, threshold: Decimal, actor=None) -> Wallet:
    if not _finite_between(threshold, Decimal("0"), TOPUP_MAX):
        raise ApplicationError(
            _("The threshold must be between $0.00 and $25,000.00."), code="invalid_threshold"
        )
    threshold = round_cents(threshold)
    wallet = wallet_lock(account=account)
    wallet.low_balance_alert_enabled = enabled
    wallet.low_balance_alert_threshold = threshold
    # Re-arm against the new threshold: an alert is due again only after a new crossing.
    wallet.low_balance_alert_sent = wallet.total_balance < threshold
    _save(wallet, ["low_balance_alert_enabled", "low_balance_alert_threshold", "low_balance_alert_sent"])
    audit_record(
        event_type="wallet.low_balance_alert_updated",
        account=account,
        actor=actor or account,  # the owner's own setting unless staff changed it
        subject=wallet,
        details={"enabled": enabled, "threshold": str(threshold)},
    )
    return wallet


def wallet_close_for_account(*, account, now) -> dict:
    """`account_closing` handler: auto top-up and the low-balance alert turn off (nothing charges or
    e-mails a deleted account). The balance stays on the ledger, which is kept; it is not paid out."""
    if not Wallet.objects.filter(account=account).exists():
        return {"wallet_top_up_usd": "0.000000", "wallet_bonus_usd": "0.000000"}
    wallet = wallet_lock(account=account)
    facts = {
        "wallet_top_up_usd": str(wallet.top_up_balance),
        "wallet_bonus_usd": str(wallet.bonus_balance),
    }
    if wallet.auto_topup_enabled or wallet.low_balance_alert_enabled:
        wallet.auto_topup_enabled = False
        wallet.low_balance_alert_enabled = False
        _save(wallet, ["auto_topup_enabled", "low_balance_alert_enabled"])
    return facts
