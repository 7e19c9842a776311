"""Reads for Extra Usage: the setting and the key it bills through.

What Extra Usage spent and since when are reads of usage data: `apps.usage.selectors`.
"""

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.extra_usage.models import ExtraUsageSetting


def extra_usage_setting_get(*, account) -> ExtraUsageSetting:
    """The account's setting with its key, or an unsaved "off" one (rows are created on first change)."""
    setting = ExtraUsageSetting.objects.select_related("payg_key").filter(account=account).first()
    return setting or ExtraUsageSetting(account=account)


def extra_usage_billing_key(*, account) -> ApiKey | None:
    """The pay-as-you-go key to bill through now, or None. Locks the setting row: call in a transaction.

    The key must be this account's, pay-as-you-go, enabled and not deleted (the setting is turned off
    when its key becomes unusable, but this check does not rely on that).
    """
    # Lock without the join, then read (a join under FOR UPDATE is re-checked against the old key row when
    # a concurrent reselect commits).
    locked = ExtraUsageSetting.objects.select_for_update().filter(account=account, enabled=True)
    setting = (
        ExtraUsageSetting.objects.select_related("payg_key")
        .filter(pk__in=list(locked.values_list("pk", flat=True)))
        .first()
    )
    if setting is None or not setting.enabled or setting.payg_key is None:
        return None
    key = setting.payg_key
    if key.account_id != account.pk or key.kind != ApiKeyKind.PAYG or not key.is_usable:
        return None
    return key


def extra_usage_selectable_keys(*, account):
    """The keys Extra Usage may bill through: the account's enabled, live pay-as-you-go keys."""
    return ApiKey.objects.usable().filter(account=account, kind=ApiKeyKind.PAYG).order_by("created_at", "id")
