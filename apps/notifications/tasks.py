"""Notification jobs: each takes ids, calls one service, is idempotent and safe to run twice or late."""

from smtplib import SMTPException

from celery import shared_task

from apps.core.side_effects import enqueue_safely
from apps.notifications import emails, webhooks
from apps.notifications.models import Notification


# Retried by Celery when sending fails (mail server down); never run inside the request that caused it.
@shared_task(autoretry_for=(OSError, SMTPException), retry_backoff=True, max_retries=5)
def notification_send_email(notification_id: int) -> None:
    notification = Notification.objects.select_related("account").get(pk=notification_id)
    emails.notification_email(notification).send()


@shared_task
def webhook_delivery_attempt_task(delivery_id: int) -> str | None:
    """Attempt a delivery; a failed attempt schedules the next one at its backoff time (eta)."""
    delivery = webhooks.webhook_delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return None
    if delivery.next_attempt_at is not None:
        webhook_delivery_attempt_task.apply_async((delivery_id,), eta=delivery.next_attempt_at)
    return delivery.status


@shared_task
def webhook_deliveries_retry_due() -> int:
    """Beat: enqueue deliveries whose next attempt is due (covers tasks lost with a worker)."""
    due = webhooks.webhook_deliveries_due()
    for delivery_id in due:
        enqueue_safely(webhook_delivery_attempt_task, delivery_id)
    return len(due)
