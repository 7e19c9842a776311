"""Wallet reservations for the metering engine (SPEC §7, §8): reserve, release, settle.

Room = balance − reserved > 0 (balance = top-up + bonus − arrears). Reserving and releasing move the
wallet's `reserved_usd` under the wallet row lock; settling debits the actual cost through
`wallet_debit` (idempotency key `usage:<request id>`), so the ledger stays the single record of money.
Call these inside the metering service's transaction.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.money import round_usage
from apps.wallet.hooks import spend_cap_check
from apps.wallet.models import Wallet
from apps.wallet.services.caps import CAP_FIELDS, spend_caps_check, spend_caps_count
from apps.wallet.services.ledger import wallet_debit, wallet_lock

ZERO = Decimal("0")


@transaction.atomic
def wallet_reserve(*, account, amount_usd: Decimal, request_id: str, now: datetime | None = None) -> bool:
    """Reserve `amount_usd` if the wallet has room (balance − reserved > 0); False changes nothing.

    Raises SpendCapReached (changing nothing) when the account's spend cap for a period has no room.
    """
    if not Wallet.objects.filter(account=account).exists():
        return False  # no wallet yet = no credit (and no empty wallet row written for a refusal)
    wallet = wallet_lock(account=account)
    if wallet.total_balance - wallet.reserved_usd <= 0:
        return False
    spend_caps_check(wallet=wallet, now=now or timezone.now())
    wallet.reserved_usd += round_usage(amount_usd)
    wallet.save(update_fields=["reserved_usd", "updated_at"])
    return True


@transaction.atomic
def wallet_release(*, account, reserved_usd: Decimal, request_id: str) -> None:
    """Drop a reservation without billing anything (never below zero)."""
    wallet = wallet_lock(account=account)
    wallet.reserved_usd = max(ZERO, wallet.reserved_usd - reserved_usd)
    wallet.save(update_fields=["reserved_usd", "updated_at"])


@transaction.atomic
def wallet_settle(
    *, account, reserved_usd: Decimal, cost_usd: Decimal, request_id: str, api_key, description: str = ""
) -> None:
    """Drop the reservation and debit the actual cost (which may exceed it: the shortfall is arrears).

    With spend caps set, the cost is added to each cap's period counter in the same save, and a settle
    that moves a cap into its alert range sends `spend_cap_settled` (no query unless a period rolled).
    """
    wallet = wallet_lock(account=account)
    wallet.reserved_usd = max(ZERO, wallet.reserved_usd - reserved_usd)
    fields = ["reserved_usd", "updated_at"]
    caps = []
    if wallet.cap_spend or any(getattr(wallet, field) is not None for field in CAP_FIELDS.values()):
        caps = spend_caps_count(wallet=wallet, cost=round_usage(cost_usd), now=timezone.now())
        fields.append("cap_spend")
    wallet.save(update_fields=fields)
    wallet_debit(
        account=account,
        amount=cost_usd,
        idempotency_key=f"usage:{request_id}",
        api_key=api_key,
        description=description,
    )
    if caps:
        spend_cap_check(account_id=wallet.account_id, caps=caps)
