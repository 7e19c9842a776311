"""Billing jobs: each takes ids and calls one service."""

import stripe
from celery import shared_task

from apps.billing import services


@shared_task(
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError),
    retry_backoff=True,
    max_retries=5,
)
def customer_sync_invoice_details(account_id: int) -> None:
    services.customer_sync_invoice_details(account_id=account_id)
