"""Wallet jobs: each takes ids, calls one service, is idempotent and safe to run twice or late."""

from celery import shared_task

from apps.wallet import services


@shared_task
def wallet_expire_bonuses() -> int:
    return services.wallet_expire_grants()


@shared_task
def wallet_auto_topup_charge(wallet_id: int, seq: int) -> None:
    services.wallet_auto_topup_charge(wallet_id=wallet_id, seq=seq)


@shared_task
def wallet_auto_topup_retry_stale() -> int:
    return services.wallet_auto_topup_retry_stale()
