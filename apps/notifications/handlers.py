"""How other apps' events become notifications (registered in NotificationsConfig.ready()).

Most events are read off the audit trail (`apps.core.hooks.audit_recorded`, inside the transaction of
the change): a state change a customer should hear of already writes an AuditEvent. Each handler runs
in a savepoint and logs, never raises: a notification problem never rolls back the change it reports.
"""

import logging
from collections import OrderedDict

from django.db import transaction

from apps.accounts.models import BLOCKED_STATUSES, AccountStatus
from apps.billing.models import Payment, PaymentPurpose
from apps.notifications.models import Notification
from apps.notifications.services import notification_create

logger = logging.getLogger("flowport.notifications")

RESTRICTED = BLOCKED_STATUSES | {AccountStatus.ABUSIVE}


def _plan_name(tier: str | None) -> str:
    from apps.plans.models import Plan

    if not tier:
        return ""
    return Plan.objects.filter(tier=tier).values_list("name", flat=True).first() or tier


def _payment(public_id: str | None) -> Payment | None:
    return Payment.objects.filter(public_id=public_id).first() if public_id else None


def _amount(payment: Payment | None) -> str | None:
    return str(payment.amount_usd) if payment is not None else None


def _subscription(event) -> tuple[str, dict] | None:
    details = event.details
    name = event.event_type.removeprefix("subscription.")
    if name == "subscribed":
        payment = _payment(details.get("payment"))
        return "subscription.started", {
            "plan": _plan_name(details.get("plan")),
            "amount_usd": _amount(payment),
        }
    if name == "upgraded":
        payment = _payment(details.get("payment"))
        return "subscription.upgraded", {
            "plan": _plan_name(details.get("plan")),
            "from_plan": _plan_name(details.get("from_plan")),
            "amount_usd": _amount(payment),
        }
    if name == "change_scheduled":
        return "subscription.downgrade_scheduled", {
            "plan": _plan_name(details.get("scheduled_plan")),
            "effective_at": details.get("effective_at"),
        }
    if name == "renewed":
        payment = _payment(details.get("payment"))
        return "subscription.renewed", {
            "plan": _plan_name(details.get("plan")),
            "amount_usd": _amount(payment),
            "receipt_number": payment.receipt_number if payment else "",
        }
    if name == "past_due":
        return "subscription.renewal_failed", {"plan": _plan_name(details.get("plan"))}
    if name == "dropped_to_free":
        if details.get("reason") == "refunded":
            return None  # the refund's own notice says the plan is now Free
        return "subscription.dropped_to_free", {"from_plan": _plan_name(details.get("from_plan"))}
    return None


def _api_key(event) -> tuple[str, dict] | None:
    from apps.api_keys.models import ApiKey, ApiKeyKind

    key = (
        ApiKey.objects.filter(pk=event.subject_id).only("name", "kind").first() if event.subject_id else None
    )
    data = {"key": event.details.get("key", ""), "name": key.name if key else ""}
    if event.event_type == "api_key.created":
        if event.details.get("kind") == ApiKeyKind.MANAGEMENT:
            return "security.management_key_created", data
        return "security.api_key_created", data
    if event.event_type == "api_key.rotated":
        return "security.api_key_rotated", data
    return None


def extra_usage_key(window: str, started_at: str) -> str:
    return f"extra_usage:{window}:{started_at}"


def _extra_usage_returned(event) -> None:
    """The window that sent requests to Extra Usage rolled: they return to the subscription."""
    window, started = event.details.get("window"), event.details.get("started_at")
    engaged = Notification.objects.filter(
        account_id=event.account_id, dedupe_key=extra_usage_key(window, started)
    )
    if engaged.exists():
        notification_create(
            account=event.account,
            kind="extra_usage.returned",
            data={"window": window},
            dedupe_key=f"extra_usage_returned:{window}:{started}",
        )


# Extra Usage notices already recorded, seen by this process (a request billed to Extra Usage asks
# again on every authorize; this keeps the repeats off the database). Bounded.
_ENGAGED_SEEN: OrderedDict[tuple[int, str], None] = OrderedDict()
_ENGAGED_SEEN_MAX = 10_000


def on_extra_usage_engaged(*, account_id: int, window) -> None:
    """usage.extra_usage_engaged (inside authorize's transaction): once per blocking window instance."""
    from apps.accounts.models import User

    key = extra_usage_key(str(window.kind), window.started_at.isoformat() if window.started_at else "")
    if (account_id, key) in _ENGAGED_SEEN:
        return
    try:
        with transaction.atomic():
            notification_create(
                account=User.objects.get(pk=account_id),
                kind="extra_usage.engaged",
                data={
                    "window": str(window.kind),
                    "resets_at": window.resets_at.isoformat() if window.resets_at else None,
                },
                dedupe_key=key,
            )
    except Exception:
        logger.exception("Extra Usage notification for account %s failed", account_id)
        return
    _ENGAGED_SEEN[(account_id, key)] = None
    if len(_ENGAGED_SEEN) > _ENGAGED_SEEN_MAX:
        _ENGAGED_SEEN.popitem(last=False)


def _translate(event) -> tuple[str, dict] | None:
    """(kind, data) for an audit event a customer is told about, or None."""
    event_type, details = event.event_type, event.details
    if event_type == "quota.restored":
        _extra_usage_returned(event)
        return "quota.restored", {"window": details.get("window"), "used_flows": details.get("used_flows")}
    if event_type == "payment.succeeded" and details.get("purpose") in (
        PaymentPurpose.TOPUP,
        PaymentPurpose.AUTO_TOPUP,
    ):
        payment = Payment.objects.filter(pk=event.subject_id).first()
        data = {
            "amount_usd": details.get("amount_usd"),
            "receipt_number": payment.receipt_number if payment else "",
        }
        if details["purpose"] == PaymentPurpose.AUTO_TOPUP:
            return "wallet.auto_topup_succeeded", data
        return "wallet.topup_receipt", data
    if event_type.startswith("subscription."):
        return _subscription(event)
    if event_type in ("refund.requested", "refund.succeeded", "refund.failed", "refund.canceled"):
        status = "processing" if event_type == "refund.requested" else event_type.removeprefix("refund.")
        return "refund.status_changed", {"status": status, "amount_usd": details.get("amount_usd")}
    if event_type == "account.status_changed":
        before, after = details.get("from"), details.get("to")
        if (after in RESTRICTED) != (before in RESTRICTED):
            return "account.status_changed", {"status": after}
        return None
    if event_type.startswith("api_key."):
        return _api_key(event)
    return None


# The audit events some notification is made from (anything else returns before any query).
RELEVANT = (
    "quota.restored",
    "payment.succeeded",
    "subscription.",
    "refund.",
    "account.status_changed",
    "api_key.",
)


def on_audit_recorded(*, event) -> None:
    if event.account_id is None or not event.event_type.startswith(RELEVANT):
        return
    try:
        with transaction.atomic():
            translated = _translate(event)
            if translated is not None:
                kind, data = translated
                notification_create(account=event.account, kind=kind, data=data)
    except Exception:
        logger.exception("Notification for audit event %s (%s) failed", event.pk, event.event_type)


def on_low_balance(*, wallet_id: int) -> None:
    """wallet.low_balance_alert_due (after the debit committed)."""
    from apps.wallet.models import Wallet

    try:
        wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
        notification_create(
            account=wallet.account,
            kind="wallet.low_balance",
            data={
                "balance_usd": str(wallet.total_balance),
                "threshold_usd": str(wallet.low_balance_alert_threshold),
            },
        )
    except Exception:
        logger.exception("Low-balance notification for wallet %s failed", wallet_id)


def on_auto_topup_failed(*, wallet_id: int, reason: str) -> None:
    """wallet.auto_topup_failed_notice_due (after auto top-up was turned off)."""
    from apps.wallet.models import Wallet

    try:
        wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
        notification_create(
            account=wallet.account,
            kind="wallet.auto_topup_failed",
            data={"amount_usd": str(wallet.auto_topup_amount), "reason": reason[:300]},
        )
    except Exception:
        logger.exception("Auto top-up failure notification for wallet %s failed", wallet_id)
