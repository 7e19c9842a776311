"""Refund jobs: each takes an id, calls one service, is idempotent and safe to run twice or late."""

from celery import shared_task

from apps.refunds import services


@shared_task
def refund_submit_task(refund_id: int) -> str:
    """After the refund's transaction commits: ask the provider to refund each part (idempotent keys)."""
    return services.refund_submit(refund_id=refund_id).status


@shared_task
def refunds_sync_processing() -> int:
    return services.refund_sync_processing()


@shared_task
def refund_sync_task(refund_id: int) -> str:
    """Sandbox: settles the refund (FLOWPORT_SANDBOX_REFUND_OUTCOME). Stripe: re-reads it (webhooks drive)."""
    return services.refund_sync(refund_id=refund_id).status
