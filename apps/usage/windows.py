"""Quota window rules (SPEC §5), evaluated lazily from the data on every check.

- 5-hour and 7-day windows start with the first metered request after they are idle
  (started_at = that request's time, resets_at = start + 5 h / 7 d); once now >= resets_at the
  window is idle (used 0, reserved 0, resets_at null) until the next request.
- The monthly window follows the subscription's billing cycle [current_period_start, current_period_end).
- Maxima come from the current plan; a plan change applies them at once, used amounts carry over.

Rows change only under `select_for_update`, locked in primary-key order in one statement, so two
transactions never wait on each other's windows in opposite orders.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from apps.core.dates import add_months
from apps.core.services import audit_record
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.usage.models import WINDOW_KINDS, QuotaWindow, QuotaWindowArchive, WindowKind

ZERO = Decimal("0")
DURATIONS = {WindowKind.FIVE_HOUR: timedelta(hours=5), WindowKind.WEEKLY: timedelta(days=7)}
MAX_FREE_PERIODS = 1200  # bound on rolling a Free period forward (100 years)


def window_max(*, plan: Plan, kind: str) -> Decimal:
    if kind == WindowKind.FIVE_HOUR:
        return plan.quota_5h_flows
    if kind == WindowKind.WEEKLY:
        return plan.weekly_max_flows
    return plan.monthly_max_flows


def monthly_period(*, subscription: Subscription, now: datetime) -> tuple[datetime, datetime]:
    """The billing cycle the monthly window counts in at `now`.

    The subscription's current period; a Free subscription whose period has ended but not yet been
    rolled by the renewal job counts in the period containing `now`, computed exactly as that job
    rolls it (start = previous end, end = start + 1 month), so the job never changes the answer.
    """
    start, end = subscription.current_period_start, subscription.current_period_end
    if end <= now and subscription.plan.is_free and subscription.status == SubscriptionStatus.ACTIVE:
        for _ in range(MAX_FREE_PERIODS):
            if end > now:
                break
            start, end = end, add_months(end, 1)
    return start, end


@dataclass
class WindowState:
    """A window as it stands at `now` after the lazy roll (the row may still hold the finished one)."""

    kind: str
    started_at: datetime | None
    resets_at: datetime | None
    used_flows: Decimal
    reserved_flows: Decimal
    # The finished window to archive, when the row's window ended by `now`: (started, ended, used).
    finished: tuple[datetime, datetime, Decimal] | None = None


def window_state(
    *, kind: str, window: QuotaWindow | None, period: tuple[datetime, datetime], now: datetime
) -> WindowState:
    started = window.started_at if window else None
    resets = window.resets_at if window else None
    used = window.used_flows if window else ZERO
    reserved = window.reserved_flows if window else ZERO
    if kind == WindowKind.MONTHLY:
        period_start, period_end = period
        if started == period_start:
            return WindowState(kind, started, period_end, used, reserved)
        finished = None
        if started is not None:
            ended = period_start if period_start > started else (resets or period_start)
            finished = (started, ended, used)
        return WindowState(kind, period_start, period_end, ZERO, ZERO, finished)
    if resets is not None and now >= resets:
        return WindowState(kind, None, None, ZERO, ZERO, (started, resets, used))
    return WindowState(kind, started, resets, used, reserved)


def windows_lock(*, account, subscription: Subscription, now: datetime) -> dict[str, QuotaWindow]:
    """Lock the account's three window rows (creating missing ones) and roll finished windows.

    Call inside a transaction. A roll archives the finished window (once: the archive is unique on
    account, kind and start) and writes a "quota.restored" audit event when it creates the archive.
    """
    account_id = account.pk
    rows = list(QuotaWindow.objects.select_for_update().filter(account_id=account_id).order_by("pk"))
    if len(rows) < len(WINDOW_KINDS):
        present = {row.kind for row in rows}
        QuotaWindow.objects.bulk_create(
            [QuotaWindow(account_id=account_id, kind=kind) for kind in WINDOW_KINDS if kind not in present],
            ignore_conflicts=True,
        )
        rows = list(QuotaWindow.objects.select_for_update().filter(account_id=account_id).order_by("pk"))
    windows = {row.kind: row for row in rows}
    period = monthly_period(subscription=subscription, now=now)
    for kind in WINDOW_KINDS:
        window = windows[kind]
        state = window_state(kind=kind, window=window, period=period, now=now)
        if state.finished is not None:
            archive_finished(account=account, kind=kind, finished=state.finished, now=now)
        if (window.started_at, window.resets_at, window.used_flows, window.reserved_flows) != (
            state.started_at,
            state.resets_at,
            state.used_flows,
            state.reserved_flows,
        ):
            window.started_at, window.resets_at = state.started_at, state.resets_at
            window.used_flows, window.reserved_flows = state.used_flows, state.reserved_flows
            window.save(update_fields=["started_at", "resets_at", "used_flows", "reserved_flows"])
    return windows


def archive_finished(
    *, account, kind: str, finished: tuple[datetime, datetime, Decimal], now: datetime
) -> QuotaWindowArchive:
    started, ended, used = finished
    archive, created = QuotaWindowArchive.objects.get_or_create(
        account_id=account.pk,
        kind=kind,
        started_at=started,
        defaults={"ended_at": ended, "used_flows": used, "created_at": now},
    )
    if created:
        audit_record(
            event_type="quota.restored",
            account=account,
            subject=archive,
            details={
                "window": kind,
                "started_at": started.isoformat(),
                "ended_at": ended.isoformat(),
                "used_flows": str(used),
            },
        )
    return archive


def window_start_if_idle(*, window: QuotaWindow, now: datetime) -> None:
    """An idle 5-hour or 7-day window starts with the request being admitted (in memory; caller saves)."""
    if window.kind in DURATIONS and window.started_at is None:
        window.started_at = now
        window.resets_at = now + DURATIONS[window.kind]


_SQL_TYPES = {
    "started_at": "timestamptz",
    "resets_at": "timestamptz",
    "reserved_flows": "numeric",
    "used_flows": "numeric",
}


def windows_save(windows: list[QuotaWindow], fields: list[str]) -> None:
    """Write back windows locked by `windows_lock`, in one statement.

    This runs on every metered request. On PostgreSQL `bulk_update`'s CASE expressions cost more to
    build than the round trip they save, so the rows go out as one UPDATE … FROM (VALUES …) with
    PostgreSQL casts instead. Every other database (the embedded SQLite default) takes the portable
    `bulk_update`, also one statement, with the values adapted by the ORM.
    """
    if not windows:
        return
    if connection.vendor != "postgresql":
        QuotaWindow.objects.bulk_update(windows, fields)
        return
    columns = [QuotaWindow._meta.get_field(name).column for name in fields]
    row = "(%s::bigint, " + ", ".join(f"%s::{_SQL_TYPES[name]}" for name in fields) + ")"
    assignments = ", ".join(f'"{column}" = v."{column}"' for column in columns)
    # Identifiers come from the model's _meta; every value is a parameter.
    sql = (
        f'UPDATE "{QuotaWindow._meta.db_table}" AS w SET {assignments} '  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(windows))}) AS v(id, {', '.join(columns)}) WHERE w.id = v.id"
    )
    params = [
        value for window in windows for value in (window.pk, *(getattr(window, name) for name in fields))
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
