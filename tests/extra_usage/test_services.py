"""Turning Extra Usage on, reselecting, off, and off automatically when its key becomes unusable."""

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_delete, api_key_set_status
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.extra_usage.models import ExtraUsageSetting
from apps.extra_usage.services import extra_usage_disable, extra_usage_enable
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db


def state(user):
    return {
        "settings": list(ExtraUsageSetting.objects.filter(account=user).values()),
        "audit": list(AuditEvent.objects.filter(event_type__startswith="extra_usage").values()),
    }


def events():
    return list(AuditEvent.objects.filter(event_type__startswith="extra_usage").order_by("pk"))


def test_enable_reselect_and_disable_write_audit_events(user):
    first, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="one")
    second, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="two")
    setting = extra_usage_enable(account=user, payg_key_id=first.pk)
    assert (setting.enabled, setting.payg_key_id) == (True, first.pk)
    enabled_at = setting.enabled_at
    assert enabled_at is not None
    # Selecting the same key again changes nothing.
    extra_usage_enable(account=user, payg_key_id=first.pk)
    setting = extra_usage_enable(account=user, payg_key_id=second.pk)
    assert (setting.enabled, setting.payg_key_id, setting.enabled_at) == (True, second.pk, enabled_at)
    setting = extra_usage_disable(account=user)
    assert (setting.enabled, setting.enabled_at) == (False, None)
    extra_usage_disable(account=user)  # already off: nothing more
    assert [(e.event_type, e.details.get("key"), e.details.get("from")) for e in events()] == [
        ("extra_usage.enabled", first.masked, None),
        ("extra_usage.key_selected", second.masked, first.masked),
        ("extra_usage.disabled", second.masked, None),
    ]
    assert all(e.actor_id == user.pk and e.account_id == user.pk for e in events())


@pytest.mark.parametrize(
    "case", ["other_account", "subscription", "management", "disabled", "deleted", "missing", "garbage"]
)
def test_enable_refuses_unusable_keys_and_changes_nothing(user, case):
    good, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="good")
    extra_usage_enable(account=user, payg_key_id=good.pk)
    if case == "other_account":
        key_id = make_key(account=UserFactory(), kind=ApiKeyKind.PAYG)[0].pk
    elif case in ("subscription", "management"):
        key_id = make_key(account=user, kind=case)[0].pk
    elif case == "disabled":
        key_id = make_key(account=user, kind=ApiKeyKind.PAYG, name="off")[0].pk
        api_key_set_status(account=user, key_id=key_id, status="disabled")
    elif case == "deleted":
        key_id = make_key(account=user, kind=ApiKeyKind.PAYG, name="gone")[0].pk
        api_key_delete(account=user, key_id=key_id)
    elif case == "missing":
        key_id = 987654321
    else:
        key_id = "abc"
    before = state(user)
    with pytest.raises(ApplicationError) as refused:
        extra_usage_enable(account=user, payg_key_id=key_id)
    expected = {
        "subscription": "key_wrong_kind",
        "management": "key_wrong_kind",
        "disabled": "key_disabled",
    }.get(case, "key_not_found")
    assert refused.value.code == expected
    assert state(user) == before


def test_refused_first_enable_leaves_it_off(user):
    sub, _ = make_key(account=user, name="sub")
    with pytest.raises(ApplicationError):
        extra_usage_enable(account=user, payg_key_id=sub.pk)
    assert not ExtraUsageSetting.objects.filter(account=user, enabled=True).exists()
    assert events() == []


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_disabling_or_deleting_the_selected_key_turns_extra_usage_off(user, action):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    other, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    extra_usage_enable(account=user, payg_key_id=key.pk)
    # Another key's change does not touch it.
    api_key_set_status(account=user, key_id=other.pk, status="disabled")
    assert ExtraUsageSetting.objects.get(account=user).enabled is True
    if action == "disable":
        api_key_set_status(account=user, key_id=key.pk, status="disabled")
    else:
        api_key_delete(account=user, key_id=key.pk)
    setting = ExtraUsageSetting.objects.get(account=user)
    reason = "key_disabled" if action == "disable" else "key_deleted"
    assert (setting.enabled, setting.auto_off_reason, setting.auto_off_key_name) == (
        False,
        reason,
        "production-app",
    )
    auto = AuditEvent.objects.get(event_type="extra_usage.auto_disabled")
    assert auto.details == {"key": key.masked, "reason": reason}
    # Turning it on again with another key clears the notice.
    api_key_set_status(account=user, key_id=other.pk, status="enabled")
    setting = extra_usage_enable(account=user, payg_key_id=other.pk)
    assert (setting.enabled, setting.auto_off_reason, setting.auto_off_key_name) == (True, "", "")
