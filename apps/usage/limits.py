"""Per-key limits in the metering full path (issue #22): model allow-list, key RPM and spend limit.

The spend limit is counted per key and period in a `KeySpend` row, reserved in `authorize` and settled
or released with the reservation, like the windows: the room rule is `used + reserved < limit`, so one
request may cross the limit and the next is refused. Periods are UTC calendar periods (a day from
00:00, a week from Monday 00:00, a month from the 1st); "total" is one period that never ends.

Lock order: reservation → key spend row → windows → Extra Usage setting → wallet (authorize locks the
key spend row before the windows; usage and release lock it right after the reservation). The
PostgreSQL fast path (services/fastpath.py) does the same for subscription keys, in the same order.
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from apps.api_keys.models import ApiKey, ApiKeyKind, LimitPeriod
from apps.core.periods import calendar_period
from apps.usage.exceptions import KeyLimitExceeded, ModelNotAllowed, RateLimited
from apps.usage.hooks import KeySpendUsage, key_spend_check
from apps.usage.models import KeySpend, UsageEvent
from apps.usage.rpm import RpmResult, rpm_acquire, rpm_undo

ZERO = Decimal("0")


def limit_period_bounds(*, period: str, now: datetime) -> tuple[datetime, datetime | None]:
    """(start, end) of the limit period containing `now`; end None for the total period."""
    return calendar_period(period=period, now=now)


def key_model_check(*, key: ApiKey, model_slug: str) -> None:
    """404 model_not_allowed when the key has an allow-list without this model."""
    if key.allowed_models and model_slug not in key.allowed_models:
        raise ModelNotAllowed(_("Model %(model)s is not allowed for this API key.") % {"model": model_slug})


def key_rpm_acquire(*, key: ApiKey, now: datetime) -> RpmResult | None:
    """Take one slot of the key's own RPM cap (None: the key has none), or 429."""
    if key.rpm_limit is None:
        return None
    rpm = rpm_acquire(account_id=f"key:{key.pk}", limit=key.rpm_limit, now=now)
    if not rpm.admitted:
        raise RateLimited(
            _("Rate limit exceeded: at most %(rpm)d requests per minute with this API key.")
            % {"rpm": key.rpm_limit},
            retry_after=rpm.retry_after,
        )
    return rpm


def key_rpm_undo(*, key: ApiKey, rpm: RpmResult | None) -> None:
    if rpm is not None:
        rpm_undo(account_id=f"key:{key.pk}", result=rpm)


def _spent_since(*, key: ApiKey, start: datetime) -> Decimal:
    """What the key spent since `start` before its counter existed (settled events, in its unit)."""
    field = "cost_usd" if key.kind == ApiKeyKind.PAYG else "flows"
    return (
        UsageEvent.objects.filter(api_key=key, created_at__gte=start).aggregate(total=Sum(field))["total"]
        or ZERO
    )


def _spend_lock(*, key: ApiKey, start: datetime) -> KeySpend:
    if not KeySpend.objects.filter(api_key=key, period_start=start).exists():
        KeySpend.objects.bulk_create(
            [KeySpend(api_key=key, period_start=start, used=_spent_since(key=key, start=start))],
            ignore_conflicts=True,
        )
    return KeySpend.objects.select_for_update().get(api_key=key, period_start=start)


def key_spend_reserve(*, key: ApiKey, amount: Decimal, now: datetime) -> datetime | None:
    """Reserve `amount` (the key's unit) in the key's current spend period, or 402 key_limit_exceeded.

    Call inside the authorize transaction, before the windows are locked. Returns the period start to
    store on the reservation (None: the key has no spend limit and nothing was written).
    """
    if key.spend_limit is None:
        return None
    start, end = limit_period_bounds(period=key.spend_limit_period, now=now)
    spend = _spend_lock(key=key, start=start)
    if spend.used + spend.reserved >= key.spend_limit:
        unit = "USD" if key.kind == ApiKeyKind.PAYG else "Flows"
        per = {
            LimitPeriod.DAY: _("per day"),
            LimitPeriod.WEEK: _("per week"),
            LimitPeriod.MONTH: _("per month"),
            LimitPeriod.TOTAL: _("in total"),
        }[key.spend_limit_period]
        raise KeyLimitExceeded(
            _(
                "This API key has reached its spend limit of %(limit)s %(unit)s %(per)s. "
                "Raise the key's limit or wait until the period resets."
            )
            % {"limit": f"{key.spend_limit.normalize():f}", "unit": unit, "per": per},
            limit="spend",
            period=key.spend_limit_period,
            resets_at=end,
        )
    KeySpend.objects.filter(pk=spend.pk).update(reserved=F("reserved") + amount)
    return start


def key_spend_settle(
    *, key_id: int, start: datetime | None, reserved: Decimal, used: Decimal, key: ApiKey | None = None
) -> None:
    """Move a reservation's amount from reserved to `used` (the actual) in the period it was reserved in.

    With the `key` (its current limit), a settle that moves the counter into the alert range sends
    `key_spend_settled` (before/after arithmetic on the locked row: no other query).
    """
    if start is None:
        return
    spend = KeySpend.objects.select_for_update().get(api_key_id=key_id, period_start=start)
    before = spend.used
    spend.reserved = max(ZERO, spend.reserved - reserved)
    spend.used += used
    spend.save(update_fields=["reserved", "used"])
    if key is not None:
        key_spend_alert(key=key, start=start, used_before=before, used_after=spend.used)


def key_spend_alert(*, key, start: datetime, used_before: Decimal, used_after: Decimal) -> None:
    """After a settle moved a key's spend counter (period `start`) from `used_before` to `used_after`:
    `key_spend_settled` when it entered the alert range of the key's current limit (arithmetic only).
    `key` is an ApiKey or the same facts (pk, account_id, name, kind, spend_limit, spend_limit_period)."""
    if key.spend_limit is None:
        return
    period = key.spend_limit_period
    period_start, end = limit_period_bounds(period=period, now=start)
    if period_start != start:  # the period kind changed since this reservation: not this limit's counter
        return
    key_spend_check(
        account_id=key.account_id,
        usage=KeySpendUsage(
            key_id=key.pk,
            key_name=key.name,
            unit="USD" if key.kind == ApiKeyKind.PAYG else "Flows",
            period=period,
            period_start=start,
            resets_at=end,
            used_before=used_before,
            used_after=used_after,
            limit=key.spend_limit,
        ),
    )


def key_spend_release(*, key_id: int, start: datetime | None, reserved: Decimal) -> None:
    key_spend_settle(key_id=key_id, start=start, reserved=reserved, used=ZERO)
