"""Wallet writes: credit, debit, top-up, auto top-up, alerts, bonus expiry, staff grants.

Every balance change locks the wallet row (select_for_update), writes one immutable LedgerEntry with a
unique idempotency key and moves the cached balances by exactly that entry's deltas. No provider call is
made while the lock is held: auto top-up charges run from a task enqueued with transaction.on_commit.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.billing.models import Payment, PaymentPurpose
from apps.billing.selectors import payment_method_default
from apps.billing.services import checkout_start, payment_charge_saved_method, payment_create
from apps.core.exceptions import ApplicationError
from apps.core.money import round_cents, round_usage
from apps.core.services import audit_record
from apps.wallet.models import (
    ZERO,
    Bucket,
    CreditGrant,
    EntryType,
    GrantConsumption,
    GrantSource,
    LedgerEntry,
    Wallet,
)

TOPUP_MIN = Decimal("5.00")
TOPUP_MAX = Decimal("25000.00")
TOPUP_BONUS_RATE = Decimal("0.20")

SOURCE_BUCKET = {
    GrantSource.TOP_UP: Bucket.TOP_UP,
    GrantSource.ADJUSTMENT: Bucket.TOP_UP,
    GrantSource.BONUS: Bucket.BONUS,
    GrantSource.GIFT: Bucket.BONUS,
    GrantSource.REFERRAL: Bucket.BONUS,
    GrantSource.COMPENSATION: Bucket.BONUS,
}
STAFF_KINDS = (GrantSource.GIFT, GrantSource.COMPENSATION, GrantSource.REFERRAL, GrantSource.ADJUSTMENT)

# System ledger descriptions are stored in English and translated when shown ({% translate %}).
DESCRIPTION_TOPUP = gettext_noop("Pay-as-you-go top-up")
DESCRIPTION_AUTO_TOPUP = gettext_noop("Auto top-up")
DESCRIPTION_BONUS = gettext_noop("Top-up bonus")
DESCRIPTION_EXPIRED = gettext_noop("Expired bonus credits")

_AMOUNT_RE = re.compile(r"^-?\d+(\.\d*)?$|^-?\.\d+$")


@dataclass(frozen=True)
class Consumption:
    grant_id: int
    bucket: str
    amount: Decimal


@dataclass(frozen=True)
class DebitResult:
    entry_id: int
    amount: Decimal
    consumed: tuple[Consumption, ...] = field(default_factory=tuple)
    shortfall: Decimal = ZERO  # what the grants could not cover, now owed as arrears
    balance_after: Decimal = ZERO
    replayed: bool = False

    @property
    def from_bonus(self) -> Decimal:
        return sum((c.amount for c in self.consumed if c.bucket == Bucket.BONUS), ZERO)

    @property
    def from_top_up(self) -> Decimal:
        return sum((c.amount for c in self.consumed if c.bucket == Bucket.TOP_UP), ZERO)


# ---------------------------------------------------------------------------------------------- helpers


def wallet_get_or_create(*, account) -> Wallet:
    wallet = Wallet.objects.filter(account=account).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            return Wallet.objects.create(account=account)
    except IntegrityError:  # created concurrently
        return Wallet.objects.get(account=account)


def _lock(account) -> Wallet:
    wallet_get_or_create(account=account)
    return Wallet.objects.select_for_update().select_related("account").get(account=account)


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
    if amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError(_("Use whole cents: at most two decimal places."), code="invalid_amount")
    if amount < TOPUP_MIN:
        raise ApplicationError(_("The minimum top-up is $5.00."), code="invalid_amount")
    if amount > TOPUP_MAX:
        raise ApplicationError(_("The maximum top-up is $25,000.00."), code="invalid_amount")
    return round_cents(amount)


def _enqueue_low_balance_alert(wallet: Wallet) -> None:
    from apps.wallet.tasks import wallet_send_low_balance_alert

    wallet_id = wallet.pk
    transaction.on_commit(lambda: wallet_send_low_balance_alert.delay(wallet_id))


def _rearm_alerts(wallet: Wallet) -> list[str]:
    """After a credit: a balance back at or above the alert threshold re-arms the low-balance alert."""
    if wallet.low_balance_alert_sent and wallet.total_balance >= wallet.low_balance_alert_threshold:
        wallet.low_balance_alert_sent = False
        return ["low_balance_alert_sent"]
    return []


def _check_thresholds(wallet: Wallet, before: Decimal) -> list[str]:
    """After a debit (wallet locked): detect an auto top-up crossing and a low-balance crossing."""
    after = wallet.total_balance
    changed: list[str] = []
    if (
        wallet.auto_topup_enabled
        and not wallet.auto_topup_pending
        and before >= wallet.auto_topup_threshold > after
    ):
        from apps.wallet.tasks import wallet_auto_topup_charge

        wallet.auto_topup_seq += 1
        wallet.auto_topup_pending = True
        changed += ["auto_topup_seq", "auto_topup_pending"]
        wallet_id, seq = wallet.pk, wallet.auto_topup_seq
        transaction.on_commit(lambda: wallet_auto_topup_charge.delay(wallet_id, seq))
    if (
        wallet.low_balance_alert_enabled
        and not wallet.low_balance_alert_sent
        and after < wallet.low_balance_alert_threshold
    ):
        wallet.low_balance_alert_sent = True
        changed.append("low_balance_alert_sent")
        _enqueue_low_balance_alert(wallet)
    return changed


def _consume(wallet: Wallet, amount: Decimal) -> tuple[list[tuple[CreditGrant, Decimal]], Decimal]:
    """Take `amount` from the wallet's grants: bonus first (earliest expiry first, no expiry last),
    then top-ups oldest first. Returns [(grant, taken)] and the shortfall. Caller holds the wallet lock."""
    grants = (
        CreditGrant.objects.filter(wallet=wallet, remaining__gt=0)
        .annotate(
            bucket_order=Case(
                When(bucket=Bucket.BONUS, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("bucket_order", F("expires_at").asc(nulls_last=True), "created_at", "id")
    )
    taken: list[tuple[CreditGrant, Decimal]] = []
    left = amount
    for grant in grants:
        if left <= 0:
            break
        take = min(grant.remaining, left)
        grant.remaining -= take
        left -= take
        taken.append((grant, take))
    CreditGrant.objects.bulk_update([g for g, _t in taken], ["remaining"])
    return taken, left


def _expire_locked(wallet: Wallet, *, now) -> int:
    """Expire the locked wallet's past-expiry grants (one `expired` entry per grant, once).
    Updates the wallet's balances in memory; the caller saves them."""
    expired = 0
    for grant in CreditGrant.objects.filter(wallet=wallet, remaining__gt=0, expires_at__lte=now).order_by(
        "id"
    ):
        amount = grant.remaining
        entry, created = LedgerEntry.objects.get_or_create(
            idempotency_key=f"expire:{grant.pk}",
            defaults={
                "wallet": wallet,
                "entry_type": EntryType.EXPIRED,
                "amount": -amount,
                "bucket": grant.bucket,
                "top_up_delta": -amount if grant.bucket == Bucket.TOP_UP else ZERO,
                "bonus_delta": -amount if grant.bucket == Bucket.BONUS else ZERO,
                "grant": grant,
                "description": DESCRIPTION_EXPIRED,
            },
        )
        if not created:  # pragma: no cover - remaining > 0 with an expiry entry cannot happen
            continue
        GrantConsumption.objects.create(entry=entry, grant=grant, amount=amount)
        grant.remaining = ZERO
        grant.save(update_fields=["remaining"])
        if grant.bucket == Bucket.TOP_UP:
            wallet.top_up_balance -= amount
        else:
            wallet.bonus_balance -= amount
        expired += 1
    return expired


def _save(wallet: Wallet, fields: list[str]) -> None:
    if fields:
        wallet.save(update_fields=sorted({*fields, "updated_at"}))


# ----------------------------------------------------------------------------------------------- credit


@transaction.atomic
def wallet_credit(
    *,
    account,
    amount: Decimal,
    source_type: str,
    idempotency_key: str,
    description: str,
    expires_at=None,
    payment: Payment | None = None,
    actor=None,
) -> LedgerEntry:
    """Add credits: one grant + one ledger entry. Arrears are paid first; a replayed key returns the
    first entry and credits nothing."""
    amount = round_usage(amount)
    if amount <= 0:
        raise ApplicationError(_("A credit must be a positive amount."), code="invalid_amount")
    if source_type not in SOURCE_BUCKET:
        raise ApplicationError(_("Unknown credit type."), code="invalid_type")
    wallet = _lock(account)
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.wallet_id != wallet.pk:
            raise ApplicationError(_("This operation belongs to another wallet."), code="conflict")
        return existing
    _expire_locked(wallet, now=timezone.now())
    bucket = SOURCE_BUCKET[source_type]
    paid_arrears = min(wallet.arrears, amount)
    kept = amount - paid_arrears
    grant = CreditGrant.objects.create(
        wallet=wallet,
        bucket=bucket,
        source_type=source_type,
        original_amount=amount,
        remaining=kept,
        expires_at=expires_at,
    )
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        entry_type=source_type,
        amount=amount,
        bucket=bucket,
        top_up_delta=kept if bucket == Bucket.TOP_UP else ZERO,
        bonus_delta=kept if bucket == Bucket.BONUS else ZERO,
        arrears_delta=-paid_arrears,
        grant=grant,
        idempotency_key=idempotency_key,
        description=description[:300],
        payment=payment,
    )
    wallet.arrears -= paid_arrears
    if bucket == Bucket.TOP_UP:
        wallet.top_up_balance += kept
    else:
        wallet.bonus_balance += kept
    _save(wallet, ["arrears", "top_up_balance", "bonus_balance", *_rearm_alerts(wallet)])
    return entry


# ------------------------------------------------------------------------------------------------ debit


def _result_from_entry(entry: LedgerEntry, *, replayed: bool, balance_after: Decimal) -> DebitResult:
    consumed = tuple(
        Consumption(grant_id=c.grant_id, bucket=c.grant.bucket, amount=c.amount)
        for c in entry.consumptions.select_related("grant").order_by("id")
    )
    return DebitResult(
        entry_id=entry.pk,
        amount=-entry.amount,
        consumed=consumed,
        shortfall=entry.arrears_delta,
        balance_after=balance_after,
        replayed=replayed,
    )


@transaction.atomic
def wallet_debit(
    *,
    account,
    amount: Decimal,
    idempotency_key: str,
    api_key=None,
    description: str = "",
    entry_type: str = EntryType.USAGE,
) -> DebitResult:
    """Spend credits (bonus first, then top-ups); what the grants cannot cover becomes arrears.

    Safe under concurrency (the wallet row is locked) and idempotent on `idempotency_key`."""
    amount = round_usage(amount)
    if amount < 0:
        raise ApplicationError(_("A debit cannot be negative."), code="invalid_amount")
    wallet = _lock(account)
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.wallet_id != wallet.pk:
            raise ApplicationError(_("This operation belongs to another wallet."), code="conflict")
        return _result_from_entry(existing, replayed=True, balance_after=wallet.total_balance)
    _expire_locked(wallet, now=timezone.now())
    before = wallet.total_balance
    taken, shortfall = _consume(wallet, amount)
    from_top_up = sum((t for g, t in taken if g.bucket == Bucket.TOP_UP), ZERO)
    from_bonus = sum((t for g, t in taken if g.bucket == Bucket.BONUS), ZERO)
    main_bucket = Bucket.BONUS if from_bonus >= from_top_up and from_bonus > 0 else Bucket.TOP_UP
    entry = LedgerEntry.objects.create(
        wallet=wallet,
        entry_type=entry_type,
        amount=-amount,
        bucket=main_bucket if taken else "",
        top_up_delta=-from_top_up,
        bonus_delta=-from_bonus,
        arrears_delta=shortfall,
        grant=taken[0][0] if len(taken) == 1 else None,
        idempotency_key=idempotency_key,
        description=description[:300],
        api_key_id=getattr(api_key, "pk", api_key),
    )
    GrantConsumption.objects.bulk_create(
        [GrantConsumption(entry=entry, grant=grant, amount=take) for grant, take in taken]
    )
    wallet.top_up_balance -= from_top_up
    wallet.bonus_balance -= from_bonus
    wallet.arrears += shortfall
    _save(wallet, ["top_up_balance", "bonus_balance", "arrears", *_check_thresholds(wallet, before)])
    return DebitResult(
        entry_id=entry.pk,
        amount=amount,
        consumed=tuple(Consumption(grant_id=g.pk, bucket=g.bucket, amount=t) for g, t in taken),
        shortfall=shortfall,
        balance_after=wallet.total_balance,
    )


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
        description=_("Pay-as-you-go top-up"),
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
    bonus = round_cents(payment.amount_usd * TOPUP_BONUS_RATE)
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
    wallet = _lock(account)
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
        from apps.wallet.tasks import wallet_send_auto_topup_failed

        wallet_id, text = wallet.pk, reason[:300]
        transaction.on_commit(lambda: wallet_send_auto_topup_failed.delay(wallet_id, text))
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
        description=_("Auto top-up"),
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
        wallet_auto_topup_charge(wallet_id=wallet_id, seq=seq)
        count += 1
    return count


@transaction.atomic
def wallet_auto_topup_update(
    *, account, enabled: bool, threshold: Decimal, amount: Decimal, actor=None
) -> Wallet:
    threshold = round_cents(threshold)
    if threshold <= 0 or threshold > TOPUP_MAX:
        raise ApplicationError(
            _("The threshold must be between $0.01 and $25,000.00."), code="invalid_threshold"
        )
    amount = topup_amount_parse(amount)
    if enabled and payment_method_default(account=account) is None:
        raise ApplicationError(
            _("Save a payment method before turning on auto top-up."), code="no_payment_method"
        )
    wallet = _lock(account)
    wallet.auto_topup_enabled = enabled
    wallet.auto_topup_threshold = threshold
    wallet.auto_topup_amount = amount
    if not enabled:
        wallet.auto_topup_pending = False
    _save(wallet, ["auto_topup_enabled", "auto_topup_threshold", "auto_topup_amount", "auto_topup_pending"])
    audit_record(
        event_type="wallet.auto_topup_updated",
        account=account,
        actor=actor,
        subject=wallet,
        details={"enabled": enabled, "threshold": str(threshold), "amount": str(amount)},
    )
    return wallet


@transaction.atomic
def wallet_low_balance_alert_update(*, account, enabled: bool, threshold: Decimal, actor=None) -> Wallet:
    threshold = round_cents(threshold)
    if threshold < 0 or threshold > TOPUP_MAX:
        raise ApplicationError(
            _("The threshold must be between $0.00 and $25,000.00."), code="invalid_threshold"
        )
    wallet = _lock(account)
    wallet.low_balance_alert_enabled = enabled
    wallet.low_balance_alert_threshold = threshold
    # Re-arm against the new threshold: an alert is due again only after a new crossing.
    wallet.low_balance_alert_sent = wallet.total_balance < threshold
    _save(wallet, ["low_balance_alert_enabled", "low_balance_alert_threshold", "low_balance_alert_sent"])
    audit_record(
        event_type="wallet.low_balance_alert_updated",
        account=account,
        actor=actor,
        subject=wallet,
        details={"enabled": enabled, "threshold": str(threshold)},
    )
    return wallet


# ----------------------------------------------------------------------------------------------- expiry


def wallet_expire_grants(*, now=None) -> int:
    """Expire the remaining credits of every past-expiry grant. Idempotent; returns entries written."""
    now = now or timezone.now()
    wallet_ids = (
        CreditGrant.objects.filter(remaining__gt=0, expires_at__lte=now)
        .values_list("wallet_id", flat=True)
        .distinct()
    )
    written = 0
    for wallet_id in list(wallet_ids):
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().get(pk=wallet_id)
            count = _expire_locked(wallet, now=now)
            if count:
                written += count
                _save(wallet, ["top_up_balance", "bonus_balance", *_rearm_alerts(wallet)])
    return written


# ------------------------------------------------------------------------------------------------ staff


@transaction.atomic
def wallet_staff_grant(*, account, kind: str, amount: Decimal, reason: str, actor) -> LedgerEntry:
    """Staff credit (gift, compensation, referral, positive adjustment) or debit (negative adjustment),
    with a reason; one ledger entry and one audit event."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("A reason is required."), code="reason_required")
    if kind not in STAFF_KINDS:
        raise ApplicationError(_("Unknown credit type."), code="invalid_type")
    amount = round_usage(amount)
    if amount == 0:
        raise ApplicationError(_("The amount cannot be zero."), code="invalid_amount")
    if amount < 0 and kind != GrantSource.ADJUSTMENT:
        raise ApplicationError(_("Only adjustments can be negative."), code="invalid_amount")
    key = f"staff:{uuid.uuid4()}"
    if amount > 0:
        entry = wallet_credit(
            account=account,
            amount=amount,
            source_type=kind,
            idempotency_key=key,
            description=reason,
            actor=actor,
        )
    else:
        result = wallet_debit(
            account=account,
            amount=-amount,
            idempotency_key=key,
            description=reason,
            entry_type=EntryType.ADJUSTMENT,
        )
        entry = LedgerEntry.objects.get(pk=result.entry_id)
    audit_record(
        event_type="wallet.staff_grant",
        account=account,
        actor=actor,
        subject=entry,
        details={"kind": kind, "amount": str(amount), "reason": reason[:300]},
    )
    return entry
