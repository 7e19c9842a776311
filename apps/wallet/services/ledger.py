"""Wallet ledger core: credit, debit and expiry under the wallet row lock.

Every balance change locks the wallet row (select_for_update), writes one immutable LedgerEntry with a
unique idempotency key and moves the cached balances by exactly that entry's deltas. No provider call is
made while the lock is held: auto top-up charges run from a task enqueued with transaction.on_commit.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.billing.models import Payment, PaymentPurpose
from apps.core.exceptions import ApplicationError
from apps.core.money import round_usage
from apps.core.periods import calendar_period
from apps.wallet import jobs
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

SOURCE_BUCKET = {
    GrantSource.TOP_UP: Bucket.TOP_UP,
    GrantSource.ADJUSTMENT: Bucket.TOP_UP,
    GrantSource.BONUS: Bucket.BONUS,
    GrantSource.GIFT: Bucket.BONUS,
    GrantSource.REFERRAL: Bucket.BONUS,
    GrantSource.COMPENSATION: Bucket.BONUS,
}

# System ledger descriptions are stored in English and translated when shown ({% translate %}).
DESCRIPTION_TOPUP = gettext_noop("Pay-as-you-go top-up")
DESCRIPTION_AUTO_TOPUP = gettext_noop("Auto top-up")
DESCRIPTION_BONUS = gettext_noop("Top-up bonus")
DESCRIPTION_EXPIRED = gettext_noop("Expired bonus credits")


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


def wallet_lock(*, account) -> Wallet:
    """The one wallet row lock (creating the wallet first if needed). Call inside a transaction."""
    wallet_get_or_create(account=account)
    # Lock the wallet row only (of=self): locking the joined account row too would block every other
    # transaction's deferred foreign-key check on that account until this one ends.
    return Wallet.objects.select_for_update(of=("self",)).select_related("account").get(account=account)


def _enqueue_low_balance_alert(wallet: Wallet) -> None:
    wallet_id = wallet.pk
    transaction.on_commit(lambda: jobs.low_balance_alert_due.send(wallet_id=wallet_id))


def _rearm_alerts(wallet: Wallet) -> list[str]:
    """After a credit: a balance back at or above the alert threshold re-arms the low-balance alert."""
    if wallet.low_balance_alert_sent and wallet.total_balance >= wallet.low_balance_alert_threshold:
        wallet.low_balance_alert_sent = False
        return ["low_balance_alert_sent"]
    return []


def auto_topup_within_ceiling(*, wallet: Wallet, now: datetime) -> bool:
    """Whether one more auto top-up fits the monthly ceiling (call with the wallet row locked)."""
    if wallet.auto_topup_monthly_max is None:
        return True
    start, _end = calendar_period(period="month", now=now)
    charged = (
        LedgerEntry.objects.filter(
            wallet=wallet,
            entry_type=EntryType.TOP_UP,
            payment__purpose=PaymentPurpose.AUTO_TOPUP,
            created_at__gte=start,
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return charged + wallet.auto_topup_amount <= wallet.auto_topup_monthly_max


def _check_thresholds(wallet: Wallet, before: Decimal) -> list[str]:
    """After a debit (wallet locked): detect an auto top-up crossing and a low-balance crossing."""
    after = wallet.total_balance
    changed: list[str] = []
    if (
        wallet.auto_topup_enabled
        and not wallet.auto_topup_pending
        and before >= wallet.auto_topup_threshold > after
        and auto_topup_within_ceiling(wallet=wallet, now=timezone.now())  # issue #22: monthly ceiling
    ):
        wallet.auto_topup_seq += 1
        wallet.auto_topup_pending = True
        changed += ["auto_topup_seq", "auto_topup_pending"]
        wallet_id, seq = wallet.pk, wallet.auto_topup_seq
        transaction.on_commit(lambda: jobs.auto_topup_charge_due.send(wallet_id=wallet_id, seq=seq))
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
) -> LedgerEntry:
    """Add credits: one grant + one ledger entry. Arrears are paid first; a replayed key returns the
    first entry and credits nothing."""
    amount = round_usage(amount)
    if amount <= 0:
        raise ApplicationError(_("A credit must be a positive amount."), code="invalid_amount")
    if source_type not in SOURCE_BUCKET:
        raise ApplicationError(_("Unknown credit type."), code="invalid_type")
    wallet = wallet_lock(account=account)
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
    wallet = wallet_lock(account=account)
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
