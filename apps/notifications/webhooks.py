"""Customer webhooks (SPEC §15): endpoints, signed deliveries (Standard Webhooks), retries, SSRF checks.

A delivery is attempted by a Celery task right after the event commits; a failed attempt is retried
after RETRY_DELAYS (≈ 23.6 hours in all, the Standard Webhooks reference schedule shortened to a day).
After the last failure the endpoint is disabled and its owner notified. An attempt is claimed with one
conditional UPDATE (status open and due), so a task run twice or late never sends twice at once.
"""

import base64
import ipaddress
import json
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from apps.core.exceptions import ApplicationError, NotFoundError
from apps.core.services import audit_record
from apps.notifications import kinds
from apps.notifications.models import DeliveryStatus, Notification, WebhookDelivery, WebhookEndpoint

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=8),
)
ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_LEASE = timedelta(minutes=2)  # an attempt that died mid-way is retried after this
MAX_ENDPOINTS = 10
MAX_URL_LENGTH = 500


class WebhookUrlRefused(ApplicationError):
    def __init__(self, message):
        super().__init__(message, code="webhook_url_refused")


# --- SSRF -----------------------------------------------------------------------------------------------


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class CheckedUrl:
    """A webhook URL that passed the checks, with the addresses it resolved to (connections go there)."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def webhook_url_check(url: str) -> CheckedUrl:
    """Refuse URLs that are not http(s), carry credentials, or resolve to a non-public address.

    With FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS (local development, tests) private, loopback and
    link-local addresses and plain http are allowed. Checked when an endpoint is saved and again before
    every attempt, and the attempt connects to the address checked here (a DNS answer that changes in
    between, "DNS rebinding", cannot send it elsewhere).
    """
    allow_private = settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused(_("The URL is longer than %(max)s characters.") % {"max": MAX_URL_LENGTH})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlRefused(_("Enter a valid URL.")) from error
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookUrlRefused(_("Enter an https:// URL."))
    if parts.username or parts.password:
        raise WebhookUrlRefused(_("The URL must not contain a user name or password."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookUrlRefused(_("The host name could not be resolved.")) from error
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or (not allow_private and not all(_address_allowed(address) for address in addresses)):
        raise WebhookUrlRefused(_("The URL resolves to a private, loopback or link-local address."))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedUrl(url, parts.scheme, parts.hostname, port, target, addresses)


# --- endpoints ------------------------------------------------------------------------------------------


def _events_clean(events: list[str]) -> list[str]:
    if not events or len(events) > len(kinds.WEBHOOK_KINDS):
        raise ApplicationError(_("Choose at least one event."), code="invalid_events")
    unknown = [event for event in events if event not in kinds.WEBHOOK_KINDS]
    if unknown:
        raise ApplicationError(
            _("Unknown event: %(event)s.") % {"event": str(unknown[0])[:64]}, code="invalid_events"
        )
    return [code for code in kinds.WEBHOOK_KINDS if code in events]


def webhook_secret_generate() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def webhook_endpoint_create(
    *, account, url: str, events: list[str], description: str = ""
) -> CreatedEndpoint:
    url = webhook_url_check(url.strip()).url
    events = _events_clean(events)
    if len(description) > 100:
        raise ApplicationError(_("The description is longer than 100 characters."), code="invalid")
    secret = webhook_secret_generate()
    with transaction.atomic():
        from apps.accounts.models import User

        User.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).get()
        if WebhookEndpoint.objects.filter(account_id=account.pk).count() >= MAX_ENDPOINTS:
            raise ApplicationError(
                _("An account can have at most %(max)s webhook endpoints.") % {"max": MAX_ENDPOINTS},
                code="too_many_endpoints",
            )
        endpoint = WebhookEndpoint.objects.create(
            account_id=account.pk, url=url, events=events, description=description, secret=secret
        )
        audit_record(
            event_type="webhook_endpoint.created",
            account=account,
            actor=account,
            subject=endpoint,
            details={"url": url, "events": events},
        )
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_get(*, account, public_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(account_id=account.pk, public_id=public_id).first()
    if endpoint is None:
        raise NotFoundError(_("No webhook endpoint with this id in this account."))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, account, public_id) -> None:
    endpoint = webhook_endpoint_get(account=account, public_id=public_id)
    audit_record(
        event_type="webhook_endpoint.deleted",
        account=account,
        actor=account,
        subject=endpoint,
        details={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_enable(*, account, public_id) -> WebhookEndpoint:
    endpoint = webhook_endpoint_get(account=account, public_id=public_id)
    if not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
        endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
        audit_record(
            event_type="webhook_endpoint.enabled",
            account=account,
            actor=account,
            subject=endpoint,
            details={},
        )
    return endpoint


# --- deliveries -----------------------------------------------------------------------------------------


def webhook_payload(notification: Notification) -> dict:
    """The Standard Webhooks body: type, timestamp, data (the event's plain details; never secrets)."""
    return {
        "type": notification.kind,
        "timestamp": notification.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"id": str(notification.public_id), **notification.data},
    }


def webhook_deliveries_create(*, notification: Notification) -> list[WebhookDelivery]:
    """One pending delivery per enabled endpoint of the account that chose this kind (caller's transaction)."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(account_id=notification.account_id, enabled=True)
        if notification.kind in endpoint.events
    ]
    payload = webhook_payload(notification)
    now = timezone.now()
    return WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                message_id=f"msg_{uuid.uuid4().hex}",
                endpoint=endpoint,
                kind=notification.kind,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ]
    )


def webhook_sign(*, secret: str, message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": "Flowport-Webhooks/1",
    }


@dataclass(frozen=True)
class AttemptOutcome:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str


def _post(*, checked: CheckedUrl, body: bytes, headers: dict[str, str]) -> int:
    """POST to the checked address (TLS verified against the URL's host name); no redirects, no retries."""
    common = {
        "port": checked.port,
        "timeout": urllib3.Timeout(total=settings.FLOWPORT_WEBHOOK_TIMEOUT_SECONDS),
        "retries": False,
        "maxsize": 1,
    }
    if checked.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            checked.addresses[0],
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.FLOWPORT_WEBHOOK_CA_BUNDLE or certifi.where(),
            server_hostname=checked.host,
            assert_hostname=checked.host,
            **common,
        )
    else:
        pool = urllib3.HTTPConnectionPool(checked.addresses[0], **common)
    try:
        response = pool.urlopen(
            "POST",
            checked.target,
            body=body,
            headers={**headers, "host": checked.host_header},
            redirect=False,
            assert_same_host=False,
            preload_content=False,  # the answer's body is never read: only its status counts
        )
        response.close()
        return response.status
    finally:
        pool.close()


def _send(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> AttemptOutcome:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    headers = webhook_sign(secret=endpoint.secret, message_id=delivery.message_id, timestamp=now, body=body)
    started = time.monotonic()
    try:
        checked = webhook_url_check(endpoint.url)
        status = _post(checked=checked, body=body.encode(), headers=headers)
    except WebhookUrlRefused as error:
        return AttemptOutcome(False, None, 0, str(error.message))
    except urllib3.exceptions.TimeoutError:
        return AttemptOutcome(False, None, _elapsed_ms(started), _("Timed out"))
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return AttemptOutcome(False, None, _elapsed_ms(started), type(error).__name__)
    ok = 200 <= status < 300
    return AttemptOutcome(ok, status, _elapsed_ms(started), "" if ok else f"HTTP {status}")


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def webhook_delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Attempt a due delivery once (None: not due, already done, or claimed by another worker)."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        endpoint__enabled=True,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE, last_attempt_at=now)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "endpoint__account").get(pk=delivery_id)
    outcome = _send(endpoint=delivery.endpoint, delivery=delivery, now=now)
    delivery.status_code, delivery.latency_ms, delivery.error = (
        outcome.status_code,
        outcome.latency_ms,
        outcome.error[:300],
    )
    if outcome.ok:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
    elif delivery.attempts < ATTEMPTS:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    with transaction.atomic():
        delivery.save(update_fields=["status", "next_attempt_at", "status_code", "latency_ms", "error"])
        if delivery.status == DeliveryStatus.FAILED:
            _endpoint_disable(endpoint=delivery.endpoint, now=now)
    return delivery


def _endpoint_disable(*, endpoint: WebhookEndpoint, now: datetime) -> None:
    from apps.notifications.services import notification_create

    reason = "deliveries failed for about a day"
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_at=now, disabled_reason=reason
    ):
        return  # already disabled (another delivery's last attempt)
    audit_record(
        event_type="webhook_endpoint.disabled",
        account=endpoint.account,
        subject=endpoint,
        details={"url": endpoint.url, "reason": reason},
    )
    notification_create(
        account=endpoint.account, kind="webhook.endpoint_disabled", data={"url": endpoint.url}
    )


def webhook_deliveries_due(*, now: datetime | None = None, batch: int = 200) -> list[int]:
    """Deliveries whose next attempt is due (the beat job enqueues them; tasks may have been lost)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )


@transaction.atomic
def webhook_delivery_resend(*, account, delivery_id: int, now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery again (same webhook-id, so receivers can deduplicate), now."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .filter(pk=delivery_id, endpoint__account_id=account.pk)
        .first()
    )
    if delivery is None:
        raise NotFoundError(_("No webhook delivery with this id in this account."))
    if not WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, enabled=True).exists():
        raise ApplicationError(_("Enable the endpoint again before resending."), code="endpoint_disabled")
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    delivery_pk = delivery.pk

    def enqueue():
        from apps.core.side_effects import enqueue_safely
        from apps.notifications import tasks

        enqueue_safely(tasks.webhook_delivery_attempt_task, delivery_pk)

    transaction.on_commit(enqueue)
    return delivery
