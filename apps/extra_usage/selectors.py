"""Reads for Extra Usage: the setting, the key it bills through, what it spent and since when."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.extra_usage.models import ExtraUsageSetting

ZERO = Decimal("0")


def extra_usage_setting_get(*, account) -> ExtraUsageSetting:
    """The account's setting with its key, or an unsaved "off" one (rows are created on first change)."""
    setting = ExtraUsageSetting.objects.select_related("payg_key").filter(account=account).first()
    return setting or ExtraUsageSetting(account=account)


def extra_usage_billing_key(*, account) -> ApiKey | None:
    """The pay-as-you-go key to bill through now, or None. Locks the setting row: call in a transaction.

    The key must be this account's, pay-as-you-go, enabled and not deleted (the setting is turned off
    when its key becomes unusable, but this check does not rely on that).
    """
    setting = (
        ExtraUsageSetting.objects.select_for_update(of=("self",))
        .select_related("payg_key")
        .filter(account=account, enabled=True)
        .first()
    )
    if setting is None or setting.payg_key is None:
        return None
    key = setting.payg_key
    if key.account_id != account.pk or key.kind != ApiKeyKind.PAYG or not key.is_usable:
        return None
    return key


def extra_usage_selectable_keys(*, account):
    """The keys Extra Usage may bill through: the account's enabled, live pay-as-you-go keys."""
    return ApiKey.objects.usable().filter(account=account, kind=ApiKeyKind.PAYG).order_by("created_at", "id")


def extra_usage_spent(*, account, key: ApiKey | None = None) -> Decimal:
    """USD billed through Extra Usage (settled usage events), for the account or through one key."""
    from apps.usage.models import UsageEvent

    events = UsageEvent.objects.filter(account=account, extra_usage=True)
    if key is not None:
        events = events.filter(billed_key=key)
    return events.aggregate(total=Sum("cost_usd"))["total"] or ZERO


@dataclass(frozen=True)
class ExtraUsageActive:
    since: datetime  # when billing first moved to the wallet in the current exhaustion
    key_name: str


def extra_usage_active_since(
    *, account, windows: dict, now: datetime | None = None
) -> ExtraUsageActive | None:
    """While a subscription window is exhausted: since when requests are billed through Extra Usage.

    Derived from the data: the first Extra Usage reservation made since the exhausted window(s) started.
    `windows` is `quota_windows_for_account(...)` for the same moment.
    """
    from apps.usage.models import Reservation, ReservationStatus

    now = now or timezone.now()
    starts = [
        view.started_at
        for view in windows.values()
        if view.started_at is not None and view.used_flows + view.reserved_flows >= view.max_flows
    ]
    if not starts:
        return None
    first = (
        Reservation.objects.filter(account=account, extra_usage=True, created_at__gte=min(starts))
        .exclude(status=ReservationStatus.RELEASED)
        .select_related("billed_key")
        .order_by("created_at", "id")
        .first()
    )
    if first is None or first.billed_key is None:
        return None
    return ExtraUsageActive(since=first.created_at, key_name=first.billed_key.name)
