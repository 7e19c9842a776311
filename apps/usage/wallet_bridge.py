"""The metering engine's only door to the pay-as-you-go wallet (SPEC §7, §8).

Until the wallet app is merged, the wallet never has room: pay-as-you-go requests are refused with
402 insufficient_credit and nothing is reserved.
"""

from decimal import Decimal


def wallet_reserve(*, account, amount_usd: Decimal, request_id: str) -> bool:
    """Reserve `amount_usd` on the account's wallet if it has room (balance − reserved > 0).

    Call inside the caller's transaction (the reservation row is written in the same one).
    """
    return False


def wallet_settle(*, account, reserved_usd: Decimal, cost_usd: Decimal, request_id: str, api_key) -> None:
    """Drop the reservation and debit the actual cost (idempotent on the request id)."""
    raise NotImplementedError("the pay-as-you-go wallet is not installed")


def wallet_release(*, account, reserved_usd: Decimal, request_id: str) -> None:
    """Drop a reservation without billing anything."""
    raise NotImplementedError("the pay-as-you-go wallet is not installed")
