"""Notification reads: the inbox, the unread count, endpoints and their delivery log."""

from django.db.models import QuerySet

from apps.notifications.models import Notification, WebhookDelivery, WebhookEndpoint


def notification_unread_count(*, account) -> int:
    return Notification.objects.filter(account_id=account.pk, in_inbox=True, read_at__isnull=True).count()


def notification_inbox(*, account) -> QuerySet[Notification]:
    return Notification.objects.filter(account_id=account.pk, in_inbox=True).order_by("-created_at", "-id")


def webhook_endpoints_for_account(*, account) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(account_id=account.pk).order_by("-created_at", "-id")


def webhook_deliveries_for_endpoint(*, endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])
