"""Wallet reads: balances, the ledger recomputation, the credits breakdown and the transaction history."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from apps.wallet.models import ZERO, CreditGrant, EntryType, LedgerEntry, Wallet


@dataclass(frozen=True)
class Balances:
    top_up: Decimal
    bonus: Decimal
    arrears: Decimal

    @property
    def total(self) -> Decimal:
        return self.top_up + self.bonus - self.arrears


def wallet_for_account(*, account) -> Wallet:
    """The account's wallet, or an unsaved empty one (a wallet is created on its first credit or debit)."""
    return Wallet.objects.filter(account=account).first() or Wallet(account=account)


def wallet_balances(*, account) -> Balances:
    wallet = wallet_for_account(account=account)
    return Balances(top_up=wallet.top_up_balance, bonus=wallet.bonus_balance, arrears=wallet.arrears)


def wallet_ledger_balances(*, wallet: Wallet) -> Balances:
    """The balances recomputed from the ledger alone (must always equal the cached ones)."""
    sums = LedgerEntry.objects.filter(wallet=wallet).aggregate(
        top_up=Sum("top_up_delta"),
        bonus=Sum("bonus_delta"),
        arrears=Sum("arrears_delta"),
        total=Sum("amount"),
    )
    balances = Balances(
        top_up=sums["top_up"] or ZERO, bonus=sums["bonus"] or ZERO, arrears=sums["arrears"] or ZERO
    )
    if balances.total != (sums["total"] or ZERO):  # guaranteed per row by a CheckConstraint
        raise AssertionError("ledger buckets do not add up to the ledger amounts")
    return balances


def wallet_grant_balances(*, wallet: Wallet) -> dict[str, Decimal]:
    """What the grants still hold, per bucket."""
    rows = CreditGrant.objects.filter(wallet=wallet).values("bucket").annotate(left=Sum("remaining"))
    return {row["bucket"]: row["left"] for row in rows}


def wallet_breakdown(*, account) -> list[tuple[str, str, Decimal]]:
    """The credits breakdown: the ledger summed per type, in the reference product's order, then the total."""
    sums = dict(
        LedgerEntry.objects.filter(wallet__account=account)
        .values_list("entry_type")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return [(value, label, sums.get(value, ZERO)) for value, label in EntryType.choices]


def wallet_breakdown_total(rows: list[tuple[str, str, Decimal]]) -> Decimal:
    return sum((amount for _v, _l, amount in rows), ZERO)


def wallet_transactions(*, account):
    """The account's own ledger, newest first, with its payments (one query per page)."""
    return (
        LedgerEntry.objects.filter(wallet__account=account)
        .select_related("payment")
        .order_by("-created_at", "-id")
    )
