"""Notification services: record an event, fan it out to the channels the account chose, and the inbox.

`notification_create` writes the notification (and the webhook deliveries) in the caller's transaction
and sends e-mail and webhooks only after it commits (`transaction.on_commit` + Celery): a failing
mail server or receiver never fails the request that changed the account.
"""

import logging
import time
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.notifications import kinds
from apps.notifications.models import DeliveryStatus, Notification, NotificationSettings, WebhookDelivery
from apps.usage.hooks import QUOTA_ALERT_MIN_PERCENT, WindowUsage

logger = logging.getLogger("flowport.notifications")


# --- preferences ----------------------------------------------------------------------------------------


def notification_settings_get(*, account) -> NotificationSettings:
    """The account's settings (unsaved defaults when it never changed any)."""
    found = NotificationSettings.objects.filter(account_id=account.pk).first()
    return found or NotificationSettings(account_id=account.pk, channels={}, quota_thresholds=[])


def channels_for(*, settings_row: NotificationSettings, kind: str) -> dict[str, bool]:
    chosen = settings_row.channels.get(kind) or {}
    return {
        channel: bool(chosen.get(channel, default))
        for channel, default in kinds.default_channels(kind).items()
    }


def thresholds_for(*, settings_row: NotificationSettings) -> tuple[int, ...]:
    return tuple(settings_row.quota_thresholds) or kinds.DEFAULT_QUOTA_THRESHOLDS


def quota_thresholds_clean(values: list[int]) -> list[int]:
    """Sorted, distinct, whole percentages from QUOTA_ALERT_MIN_PERCENT to 100, at most 5."""
    if not values:
        raise ApplicationError(_("Enter at least one threshold."), code="invalid_thresholds")
    if len(values) > kinds.MAX_QUOTA_THRESHOLDS:
        raise ApplicationError(
            _("Enter at most %(max)s thresholds.") % {"max": kinds.MAX_QUOTA_THRESHOLDS},
            code="invalid_thresholds",
        )
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not QUOTA_ALERT_MIN_PERCENT <= value <= 100
        ):
            raise ApplicationError(
                _("Each threshold must be a whole percentage from %(min)s to 100.")
                % {"min": QUOTA_ALERT_MIN_PERCENT},
                code="invalid_thresholds",
            )
    return sorted(set(values))


@transaction.atomic
def notification_settings_update(
    *, account, channels: dict[str, dict[str, bool]], quota_thresholds: list[int]
) -> NotificationSettings:
    """Replace the account's channel choices and quota thresholds (unknown kinds or channels refused)."""
    thresholds = quota_thresholds_clean(quota_thresholds)
    cleaned: dict[str, dict[str, bool]] = {}
    for kind, chosen in channels.items():
        if kind not in kinds.KINDS or not isinstance(chosen, dict) or set(chosen) - set(kinds.CHANNELS):
            raise ApplicationError(_("Unknown notification kind or channel."), code="invalid_channels")
        cleaned[kind] = {channel: bool(value) for channel, value in chosen.items()}
    row, _created = NotificationSettings.objects.select_for_update().get_or_create(account_id=account.pk)
    row.channels = cleaned
    row.quota_thresholds = thresholds if tuple(thresholds) != kinds.DEFAULT_QUOTA_THRESHOLDS else []
    row.save()
    audit_record(
        event_type="notifications.settings_updated",
        account=account,
        actor=account,
        subject=row,
        details={"quota_thresholds": thresholds},
    )
    _THRESHOLDS.pop(account.pk, None)
    return row


# --- events ---------------------------------------------------------------------------------------------


def notification_create(*, account, kind: str, data: dict, dedupe_key: str = "") -> Notification | None:
    """Record an event and send it on each channel the account has on for its kind.

    With a `dedupe_key` the event happens once per account and key: a second call returns None.
    Returns None too when every channel is off for this kind (nothing to tell).
    """
    from apps.notifications import webhooks

    row = notification_settings_get(account=account)
    chosen = channels_for(settings_row=row, kind=kind)
    if not any(chosen.values()):
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                account_id=account.pk,
                kind=kind,
                data=data,
                dedupe_key=dedupe_key,
                in_inbox=chosen[kinds.INBOX],
            )
    except IntegrityError:
        if dedupe_key and Notification.objects.filter(account_id=account.pk, dedupe_key=dedupe_key).exists():
            return None  # this event already happened (a concurrent settle recorded it first)
        raise
    deliveries = (
        webhooks.webhook_deliveries_create(notification=notification) if chosen[kinds.WEBHOOK] else []
    )
    notification_id = notification.pk
    delivery_ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(
        lambda: _send_after_commit(
            notification_id=notification_id, email=chosen[kinds.EMAIL], delivery_ids=delivery_ids
        )
    )
    return notification


def _send_after_commit(*, notification_id: int, email: bool, delivery_ids: list[int]) -> None:
    from apps.core.side_effects import enqueue_safely
    from apps.notifications import tasks

    if email:
        enqueue_safely(tasks.notification_send_email, notification_id)
    for delivery_id in delivery_ids:
        enqueue_safely(tasks.webhook_delivery_attempt_task, delivery_id)


def notification_mark_read(*, account, public_id=None, now: datetime | None = None) -> int:
    """Mark one of the account's notifications read (or all of them when `public_id` is None)."""
    now = now or timezone.now()
    unread = Notification.objects.filter(account_id=account.pk, in_inbox=True, read_at__isnull=True)
    if public_id is not None:
        unread = unread.filter(public_id=public_id)
    return unread.update(read_at=now)


# --- quota thresholds -----------------------------------------------------------------------------------

# Per-process cache of each account's thresholds (read only when a settle reaches the alert range):
# account id → (thresholds, monotonic expiry). A change in this process takes effect at once, in
# others within THRESHOLDS_TTL seconds.
THRESHOLDS_TTL = 60.0
THRESHOLDS_MAX_ACCOUNTS = 50_000
_THRESHOLDS: dict[int, tuple[tuple[int, ...], float]] = {}


def _account_thresholds(account_id: int) -> tuple[int, ...]:
    clock = time.monotonic()
    cached = _THRESHOLDS.get(account_id)
    if cached is not None and cached[1] > clock:
        return cached[0]
    row = NotificationSettings.objects.filter(account_id=account_id).only("quota_thresholds").first()
    thresholds = tuple(row.quota_thresholds) if row is not None and row.quota_thresholds else None
    thresholds = thresholds or kinds.DEFAULT_QUOTA_THRESHOLDS
    if len(_THRESHOLDS) >= THRESHOLDS_MAX_ACCOUNTS:
        _THRESHOLDS.clear()
    _THRESHOLDS[account_id] = (thresholds, clock + THRESHOLDS_TTL)
    return thresholds


def crossed_thresholds(*, window: WindowUsage, thresholds: tuple[int, ...]) -> list[int]:
    """The thresholds this settle crossed: used before < threshold × max ≤ used after."""
    return [
        threshold
        for threshold in thresholds
        if window.used_before * 100 < window.maximum * threshold <= window.used_after * 100
    ]


def quota_thresholds_notify(*, account_id: int, windows: list[WindowUsage]) -> list[Notification]:
    """Record each crossed threshold once per window instance (unique key: window kind, start, threshold)."""
    from apps.accounts.models import User

    thresholds = _account_thresholds(account_id)
    crossings = [
        (window, threshold)
        for window in windows
        for threshold in crossed_thresholds(window=window, thresholds=thresholds)
    ]
    if not crossings:
        return []
    account = User.objects.get(pk=account_id)
    created = []
    with transaction.atomic():
        for window, threshold in crossings:
            notification = notification_create(
                account=account,
                kind="quota.threshold",
                data={
                    "window": str(window.kind),
                    "threshold": threshold,
                    "used_flows": str(window.used_after),
                    "max_flows": str(window.maximum),
                    "window_started_at": window.started_at.isoformat(),
                    "resets_at": window.resets_at.isoformat() if window.resets_at else None,
                },
                dedupe_key=f"quota:{str(window.kind)}:{window.started_at.isoformat()}:{threshold}",
            )
            if notification is not None:
                created.append(notification)
    return created


def quota_usage_settled_handler(*, account_id: int, windows: list[WindowUsage]) -> None:
    """usage.quota_usage_settled: never let a notification problem fail the settle."""
    try:
        with transaction.atomic():  # a savepoint inside the settle's transaction (full path)
            quota_thresholds_notify(account_id=account_id, windows=windows)
    except Exception:
        logger.exception("Quota threshold notification for account %s failed", account_id)


__all__ = [
    "DeliveryStatus",
    "WebhookDelivery",
    "notification_create",
    "notification_mark_read",
    "notification_settings_update",
    "quota_thresholds_notify",
]
