"""Staff credit grants and adjustments (admin), always through the ledger with a reason."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.exceptions import ApplicationError
from apps.core.money import round_usage
from apps.core.services import audit_record
from apps.wallet.models import (
    EntryType,
    GrantSource,
    LedgerEntry,
)
from apps.wallet.services.ledger import (
    wallet_credit,
    wallet_debit,
    wallet_lock,
)

STAFF_KINDS = (GrantSource.GIFT, GrantSource.COMPENSATION, GrantSource.REFERRAL, GrantSource.ADJUSTMENT)


# ------------------------------------------------------------------------------------------------ staff


@transaction.atomic
def wallet_staff_grant(
    *, account, kind: str, amount: Decimal, reason: str, actor, operation_id: str
) -> LedgerEntry:
    """Staff credit (gift, compensation, referral, positive adjustment) or debit (negative adjustment),
    with a reason; one ledger entry and one audit event.

    `operation_id` comes with the form that was shown to staff: submitting that form again (a double
    click, a browser resubmit) returns the first entry and changes nothing."""
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
    key = f"staff:{operation_id}"
    # Serialises concurrent submits of the same form: the second finds the first entry.
    wallet_lock(account=account)
    existing = LedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    if amount > 0:
        entry = wallet_credit(
            account=account,
            amount=amount,
            source_type=kind,
            idempotency_key=key,
            description=reason,
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
