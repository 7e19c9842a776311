"""Extra Usage writes (SPEC §9): turn on with a pay-as-you-go key, reselect, turn off, and turn off
automatically when the selected key is disabled or deleted. Each change writes an audit event in the
same transaction; a refused change writes nothing."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.extra_usage.models import AutoOffReason, ExtraUsageSetting


def _setting_lock(*, account) -> ExtraUsageSetting:
    if not ExtraUsageSetting.objects.filter(account=account).exists():
        ExtraUsageSetting.objects.bulk_create([ExtraUsageSetting(account=account)], ignore_conflicts=True)
    # Lock without the join, then read (see plans' subscription_lock: a join under FOR UPDATE is re-checked
    # against the old key row when a concurrent reselect commits).
    ExtraUsageSetting.objects.select_for_update().filter(account=account).values_list("pk", flat=True).get()
    return ExtraUsageSetting.objects.select_related("payg_key").get(account=account)


def _key_for_extra_usage(*, account, payg_key_id) -> ApiKey:
    """Lock the chosen key and check it may carry Extra Usage; else ApplicationError."""
    try:
        key = ApiKey.objects.select_for_update().filter(pk=int(payg_key_id)).first()
    except (TypeError, ValueError):
        key = None
    if key is None or key.account_id != account.pk or key.deleted_at is not None:
        raise ApplicationError(_("Choose one of your pay-as-you-go keys."), code="key_not_found")
    if key.kind != ApiKeyKind.PAYG:
        raise ApplicationError(
            _("Extra Usage bills through a pay-as-you-go key: choose one of those."), code="key_wrong_kind"
        )
    if key.status != ApiKeyStatus.ENABLED:
        raise ApplicationError(
            _("This key is disabled: enable it first or choose another."), code="key_disabled"
        )
    return key


@transaction.atomic
def extra_usage_enable(*, account, payg_key_id, actor=None, now: datetime | None = None) -> ExtraUsageSetting:
    """Turn Extra Usage on with this pay-as-you-go key, or switch (reselect) to it when already on."""
    now = now or timezone.now()
    key = _key_for_extra_usage(account=account, payg_key_id=payg_key_id)
    setting = _setting_lock(account=account)
    if setting.enabled and setting.payg_key_id == key.pk:
        return setting
    previous = setting.payg_key if setting.enabled else None
    setting.enabled = True
    setting.payg_key = key
    if previous is None:
        setting.enabled_at = now
    setting.auto_off_reason, setting.auto_off_key_name, setting.auto_off_at = "", "", None
    setting.save()
    details = {"key": key.masked, "key_name": key.name}
    if previous is not None:
        details["from"] = previous.masked
    audit_record(
        event_type="extra_usage.key_selected" if previous is not None else "extra_usage.enabled",
        account=account,
        actor=actor or account,
        subject=setting,
        details=details,
    )
    return setting


@transaction.atomic
def extra_usage_disable(*, account, actor=None) -> ExtraUsageSetting:
    """Turn Extra Usage off (the key stays selected for next time). Already off: nothing changes."""
    setting = _setting_lock(account=account)
    if not setting.enabled:
        return setting
    setting.enabled = False
    setting.enabled_at = None
    setting.save()
    audit_record(
        event_type="extra_usage.disabled",
        account=account,
        actor=actor or account,
        subject=setting,
        details={"key": setting.payg_key.masked if setting.payg_key else ""},
    )
    return setting


@transaction.atomic
def extra_usage_on_key_unusable(*, key: ApiKey, deleted: bool, now: datetime | None = None) -> bool:
    """A pay-as-you-go key was disabled or deleted: if Extra Usage bills through it, turn it off.

    The `api_keys.hooks.api_key_unusable` handler: runs inside the transaction that disables/deletes the key. Returns
    whether Extra Usage was turned off.
    """
    if key.kind != ApiKeyKind.PAYG:
        return False
    if not ExtraUsageSetting.objects.filter(account_id=key.account_id, enabled=True, payg_key=key).exists():
        return False
    setting = _setting_lock(account=key.account)
    if not setting.enabled or setting.payg_key_id != key.pk:
        return False
    reason = AutoOffReason.KEY_DELETED if deleted else AutoOffReason.KEY_DISABLED
    setting.enabled = False
    setting.enabled_at = None
    setting.auto_off_reason = reason
    setting.auto_off_key_name = key.name
    setting.auto_off_at = now or timezone.now()
    setting.save()
    audit_record(
        event_type="extra_usage.auto_disabled",
        account=key.account,
        subject=setting,
        details={"key": key.masked, "reason": reason},
    )
    return True
