"""Manual resets of the 5-hour window (issue #22): a number per billing cycle, as plan data.

A reset ends the running 5-hour window now: it is archived as a finished window (so its Flows stay in
the history and requests still in flight settle into it, as after a roll) and the window goes idle,
to start again with the next request. Resets are counted per billing cycle on the subscription and do
not roll over. Lock order: subscription → windows (as the plan services do).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.plans.models import Subscription
from apps.usage.models import WindowKind
from apps.usage.services.common import ZERO
from apps.usage.windows import archive_finished, windows_lock


class WindowResetRefused(ApplicationError):
    """The 5-hour window cannot be reset now (idle, already reset, or no resets left)."""

    status = 409
    type = "window_reset_refused"


def five_hour_window_reset(
    *,
    account,
    window_started_at: datetime | None = None,
    actor=None,
    auto: bool = False,
    now: datetime | None = None,
) -> int:
    """Reset the account's running 5-hour window, spending one reset; returns the resets left.

    `window_started_at` (the start of the window the caller saw) makes a repeated click harmless:
    when the window is no longer that one (already reset, or a new one started), nothing is spent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("plan").get(account=account)
        windows = windows_lock(account=account, subscription=subscription, now=now)
        window = windows[WindowKind.FIVE_HOUR]
        if window.started_at is None or (
            window_started_at is not None and window.started_at != window_started_at
        ):
            raise WindowResetRefused(
                _("This 5-hour window has already been reset or has ended; nothing was spent."),
                code="window_not_running",
            )
        remaining = subscription.window_resets_remaining
        if remaining <= 0:
            raise WindowResetRefused(
                _("No 5-hour window resets are left in this billing cycle."), code="no_resets_left"
            )
        archive_finished(
            account=account,
            kind=WindowKind.FIVE_HOUR,
            finished=(window.started_at, now, window.used_flows),
            now=now,
        )
        previous = (window.started_at, window.used_flows)
        window.started_at = window.resets_at = None
        window.used_flows = window.reserved_flows = ZERO
        window.save(update_fields=["started_at", "resets_at", "used_flows", "reserved_flows"])
        if subscription.window_resets_cycle_start != subscription.current_period_start:
            subscription.window_resets_cycle_start = subscription.current_period_start
            subscription.window_resets_used = 0
        subscription.window_resets_used += 1
        subscription.save(update_fields=["window_resets_used", "window_resets_cycle_start", "updated_at"])
        audit_record(
            event_type="quota.window_reset",
            account=account,
            actor=actor if actor is not None else (None if auto else account),
            subject=subscription,
            details={
                "window_started_at": previous[0].isoformat(),
                "used_flows": str(previous[1]),
                "resets_remaining": remaining - 1,
                "auto": auto,
            },
        )
    return remaining - 1


@transaction.atomic
def window_auto_reset_set(*, account, enabled: bool, actor=None) -> Subscription:
    """Turn the automatic 5-hour window reset on or off (audited; no change writes nothing)."""
    subscription = Subscription.objects.select_for_update().get(account=account)
    if subscription.window_auto_reset == bool(enabled):
        return subscription
    subscription.window_auto_reset = bool(enabled)
    subscription.save(update_fields=["window_auto_reset", "updated_at"])
    audit_record(
        event_type="quota.window_auto_reset_enabled" if enabled else "quota.window_auto_reset_disabled",
        account=account,
        actor=actor if actor is not None else account,
        subject=subscription,
    )
    return subscription
