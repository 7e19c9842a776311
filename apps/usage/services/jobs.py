"""Background jobs: release stale reservations, roll expired windows (correctness never depends on them)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.plans.models import Subscription
from apps.usage.models import (
    QuotaWindow,
    Reservation,
    ReservationStatus,
    UsageEvent,
    WindowKind,
)
from apps.usage.services.common import STALE_AFTER
from apps.usage.services.settle import meter_release
from apps.usage.windows import (
    DURATIONS,
    windows_lock,
)

# --- Background jobs ------------------------------------------------------------------------------------


def reservations_release_stale(*, now: datetime | None = None, batch: int = 500) -> int:
    """Release reservations neither settled nor released within 15 minutes (SPEC §7)."""
    now = now or timezone.now()
    stale = list(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE, created_at__lte=now - STALE_AFTER)
        .order_by("created_at", "pk")
        .values_list("request_id", flat=True)[:batch]
    )
    released = 0
    for request_id in stale:
        released += meter_release(request_id=request_id, now=now).released
    return released


def quota_windows_roll_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Roll (archive, "quota.restored" event) the windows that ended by `now` for idle accounts.

    Correctness never depends on this job: every check rolls lazily. It only makes the archive and
    the events happen on time for accounts that send no further request.
    """
    now = now or timezone.now()
    finished = Q(kind__in=list(DURATIONS), resets_at__lte=now) | (
        Q(kind=WindowKind.MONTHLY) & ~Q(started_at=F("account__subscription__current_period_start"))
    )
    account_ids = list(
        QuotaWindow.objects.filter(finished)
        .order_by("account_id")
        .values_list("account_id", flat=True)
        .distinct()[:batch]
    )
    rolled = 0
    for subscription in Subscription.objects.select_related("plan", "account").filter(
        account_id__in=account_ids
    ):
        with transaction.atomic():
            windows_lock(account=subscription.account, subscription=subscription, now=now)
        rolled += 1
    return rolled


def client_ips_clear(*, now: datetime | None = None) -> int:
    """Forget the client IPs of requests older than FLOWPORT_CLIENT_IP_RETENTION_DAYS (SPEC §7, §14).

    One UPDATE per table over an index of the rows still holding an address; safe to run twice or late.
    Returns how many rows were cleared.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FLOWPORT_CLIENT_IP_RETENTION_DAYS)
    cleared = 0
    for model in (Reservation, UsageEvent):
        cleared += model.objects.filter(created_at__lt=cutoff, client_ip__isnull=False).update(client_ip=None)
    return cleared
