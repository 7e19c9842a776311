"""A webhook endpoint with a long URL and a failed delivery, for the pages that list them."""

from django.utils import timezone

from apps.notifications import kinds, webhooks
from apps.notifications.models import DeliveryStatus, WebhookDelivery


def endpoint_with_failed_delivery(account, settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = True  # nothing is sent: the delivery is written as is
    created = webhooks.webhook_endpoint_create(
        account=account,
        url="http://127.0.0.1:9/hooks/flowport/a-rather-long-receiver-path-for-billing-and-quota-events",
        events=list(kinds.WEBHOOK_KINDS),
    )
    WebhookDelivery.objects.create(
        message_id="msg_layout_0001",
        endpoint=created.endpoint,
        kind="wallet.low_balance",
        payload={"balance_usd": "2.50", "threshold_usd": "3.00"},
        status=DeliveryStatus.FAILED,
        attempts=3,
        status_code=503,
        latency_ms=1234,
        error="HTTP 503 from the receiver: Service Unavailable (upstream connect error or disconnect)",
        last_attempt_at=timezone.now(),
    )
    return created.endpoint
