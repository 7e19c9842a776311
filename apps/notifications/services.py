"""Notification services: record an event, fan it out to the channels the account chose, and the inbox.

`notification_create` writes the notification (and the webhook deliveries) in the caller's transaction
and sends e-mail and webhooks only after it commits (`transaction.on_commit` + Celery): a failing
mail server or receiver never fails the request that changed the account.
"""

import logging
import time
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.notifications import kinds
from apps.notifications.models import DeliveryStatus, Notification, NotificationSettings, WebhookDelivery
from apps.usage.hooks import QUOTA_ALERT_MIN_PERCENT, KeySpendUsage, WindowUsage
from apps.wallet.hooks import CapSpend

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


# --- key spend limits and account spend caps (issue #22) -------------------------------------------------


def crossed_limit_thresholds(
    *, before: Decimal, after: Decimal, limit: Decimal, thresholds: tuple[int, ...]
) -> list[int]:
    """The thresholds a settle crossed: before < threshold × limit ≤ after."""
    return [threshold for threshold in thresholds if before * 100 < limit * threshold <= after * 100]


def _record_crossings(*, account_id: int, kind: str, crossings: list[tuple[int, dict, str]]) -> list:
    from apps.accounts.models import User

    if not crossings:
        return []
    account = User.objects.get(pk=account_id)
    created = []
    with transaction.atomic():
        for threshold, data, dedupe_key in crossings:
            notification = notification_create(
                account=account, kind=kind, data={**data, "threshold": threshold}, dedupe_key=dedupe_key
            )
            if notification is not None:
                created.append(notification)
    return created


def key_limit_thresholds_notify(*, account_id: int, usage: KeySpendUsage) -> list[Notification]:
    """Each of the account's thresholds a key's spend crossed, once per key, period and threshold."""
    thresholds = _account_thresholds(account_id)
    start = usage.period_start.isoformat()
    data = {
        "key_name": usage.key_name,
        "unit": usage.unit,
        "period": usage.period,
        "used": str(usage.used_after),
        "limit": str(usage.limit),
        "period_start": start,
        "resets_at": usage.resets_at.isoformat() if usage.resets_at else None,
    }
    crossings = [
        (threshold, data, f"key_limit:{usage.key_id}:{start}:{threshold}")
        for threshold in crossed_limit_thresholds(
            before=usage.used_before, after=usage.used_after, limit=usage.limit, thresholds=thresholds
        )
    ]
    return _record_crossings(account_id=account_id, kind="limits.key_threshold", crossings=crossings)


def spend_cap_thresholds_notify(*, account_id: int, caps: list[CapSpend]) -> list[Notification]:
    """Each of the account's thresholds a spend cap crossed, once per cap period and threshold."""
    thresholds = _account_thresholds(account_id)
    crossings = []
    for cap in caps:
        start = cap.period_start.isoformat()
        data = {
            "period": cap.period,
            "spent_usd": str(cap.spent_after),
            "cap_usd": str(cap.cap),
            "period_start": start,
            "resets_at": cap.resets_at.isoformat() if cap.resets_at else None,
        }
        crossings += [
            (threshold, data, f"spend_cap:{cap.period}:{start}:{threshold}")
            for threshold in crossed_limit_thresholds(
                before=cap.spent_before, after=cap.spent_after, limit=cap.cap, thresholds=thresholds
            )
        ]
    return _record_crossings(account_id=account_id, kind="limits.spend_cap_threshold", crossings=crossings)


def key_spend_settled_handler(*, account_id: int, usage: KeySpendUsage) -> None:
    """usage.key_spend_settled (in the settle's transaction): never fail the settle."""
    try:
        with transaction.atomic():
            key_limit_thresholds_notify(account_id=account_id, usage=usage)
    except Exception:
        logger.exception("Key limit threshold notification for account %s failed", account_id)


def spend_cap_settled_handler(*, account_id: int, caps: list[CapSpend]) -> None:
    """wallet.spend_cap_settled (in the settle's transaction): never fail the settle."""
    try:
        with transaction.atomic():
            spend_cap_thresholds_notify(account_id=account_id, caps=caps)
    except Exception:
        logger.exception("Spend cap threshold notification for account %s failed", account_id)


# Refusal notices already recorded, seen by this process: a refused key keeps being refused until its
# period resets, and this keeps the repeats off the database. Bounded.
_REFUSED_SEEN: OrderedDict[tuple[int, str], None] = OrderedDict()
_REFUSED_SEEN_MAX = 10_000


def spend_limit_refused_handler(
    *,
    account_id: int,
    key_id: int,
    key_name: str,
    limit: str,
    period: str,
    period_start: datetime,
    resets_at: datetime | None,
) -> None:
    """usage.spend_limit_refused (after the refused authorize rolled back): once per key or cap period."""
    from apps.accounts.models import User

    start = period_start.isoformat()
    if limit == "key":
        kind, dedupe_key = "limits.key_limit_reached", f"key_limit_reached:{key_id}:{start}"
        data = {"key_name": key_name, "period": period}
    else:
        kind, dedupe_key = "limits.spend_cap_reached", f"spend_cap_reached:{period}:{start}"
        data = {"period": period}
    data.update(period_start=start, resets_at=resets_at.isoformat() if resets_at else None)
    if (account_id, dedupe_key) in _REFUSED_SEEN:
        return
    try:
        with transaction.atomic():
            notification_create(
                account=User.objects.get(pk=account_id), kind=kind, data=data, dedupe_key=dedupe_key
            )
    except Exception:
        logger.exception("Spend limit refusal notification for account %s failed", account_id)
        return
    _REFUSED_SEEN[(account_id, dedupe_key)] = None
    if len(_REFUSED_SEEN) > _REFUSED_SEEN_MAX:
        _REFUSED_SEEN.popitem(last=False)


__all__ = [
    "DeliveryStatus",
    "WebhookDelivery",
    "notification_create",
    "notification_mark_read",
    "notification_settings_update",
    "key_limit_thresholds_notify",
    "quota_thresholds_notify",
    "spend_cap_thresholds_notify",
]
