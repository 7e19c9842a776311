"""What a disputed top-up means for the wallet. Registered in WalletConfig.ready().

Billing re-reads the dispute from the provider and calls `on_payment_disputed` through
`apps.billing.hooks.provider_payment_disputed`, inside the webhook's transaction. An open dispute claws
back every credit the payment created (the top-up and its bonus) with one ADJUSTMENT ledger entry: what
the credits no longer cover becomes arrears, so spent credits are owed, not lost. Auto top-up is turned
off. A won dispute credits the same amount back once; a lost one leaves the claw-back standing.
Idempotent on the dispute id (a replayed or repeated event changes nothing).
"""

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.billing.models import PaymentPurpose
from apps.core.services import audit_record
from apps.wallet.models import EntryType, GrantSource, LedgerEntry
from apps.wallet.services import wallet_auto_topup_disable, wallet_credit, wallet_debit

ZERO = Decimal("0")


def _credited(payment) -> Decimal:
    total = LedgerEntry.objects.filter(payment=payment, amount__gt=0).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def on_payment_disputed(*, payment, dispute_id: str, status: str, amount_usd: Decimal, reason: str) -> None:
    if payment.purpose not in (PaymentPurpose.TOPUP, PaymentPurpose.AUTO_TOPUP):
        return
    hold_key = f"dispute:{dispute_id}:clawback"
    held = LedgerEntry.objects.filter(idempotency_key=hold_key).first()
    if status == "open" and held is None:
        amount = _credited(payment)
        if amount <= 0:
            return
        wallet_debit(
            account=payment.account,
            amount=amount,
            idempotency_key=hold_key,
            description=_("Credits held: the top-up payment is disputed with the bank"),
            entry_type=EntryType.ADJUSTMENT,
        )
        wallet_auto_topup_disable(account=payment.account, reason=_("A top-up payment is disputed."))
        audit_record(
            event_type="wallet.dispute_clawback",
            account=payment.account,
            subject=payment,
            details={"dispute": dispute_id, "amount": str(amount), "reason": reason},
        )
    elif status == "won" and held is not None:
        wallet_credit(
            account=payment.account,
            amount=-held.amount,
            source_type=GrantSource.ADJUSTMENT,
            idempotency_key=f"dispute:{dispute_id}:restore",
            description=_("Credits restored: the dispute was decided in our favour"),
            payment=payment,
        )
