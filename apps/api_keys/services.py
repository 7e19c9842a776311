"""API key lifecycle (SPEC §6): create, rename, enable/disable, rotate, delete, authenticate, touch.

Secrets are shown once and never stored: the table keeps a SHA-256 hash (looked up by equality, so no
timing side channel on the comparison) plus a display prefix and the last four characters.
"""

import hashlib
import logging
import re
import secrets
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.api_keys import hooks
from apps.api_keys.exceptions import ApiKeyNotFound, ApiKeyRefused
from apps.api_keys.models import (
    KEY_PREFIXES,
    ApiKey,
    ApiKeyKind,
    ApiKeyStatus,
    KeyUnusable,
    LimitPeriod,
    api_key_unusable_reason,
)
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record

__all__ = [
    "ApiKeyNotFound",
    "ApiKeyRefused",
    "api_key_authenticate",
    "api_key_check_usable",
    "api_key_create",
    "api_key_delete",
    "api_key_hash",
    "api_key_rename",
    "api_key_rotate",
    "api_key_set_limits",
    "api_key_set_status",
    "api_key_touch",
    "api_key_usage_add",
]

NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length
logger = logging.getLogger(__name__)
SECRET_RE = re.compile(r"^sk-(?:ss|ai|mg)-v1-[0-9a-f]{64}$")
TOUCH_INTERVAL_SECONDS = 60


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _secret_new(kind: str) -> str:
    return KEY_PREFIXES[kind] + secrets.token_hex(32)


def _secret_fields(kind: str, secret: str) -> dict:
    prefix = KEY_PREFIXES[kind]
    return {
        "secret_hash": api_key_hash(secret),
        "prefix": secret[: len(prefix) + 4],
        "last_four": secret[-4:],
    }


def _name_clean(name) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("A key needs a name."), code="name_required")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(
            _("A key name has at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}, code="name_too_long"
        )
    return name


def _key_lock(*, account, key_id) -> ApiKey:
    """Lock one live key of this account, or refuse as not found (another account's key included)."""
    try:
        return ApiKey.objects.live().select_for_update().get(account=account, pk=int(key_id))
    except (ApiKey.DoesNotExist, TypeError, ValueError) as error:
        raise ApiKeyNotFound() from error


def _actor(actor, account):
    return actor if actor is not None else account


def _audit(*, event_type: str, key: ApiKey, actor, details: dict | None = None) -> None:
    audit_record(
        event_type=event_type,
        account=key.account,
        actor=actor,
        subject=key,
        details={"kind": key.kind, "key": key.masked, **(details or {})},
    )


def api_key_create(
    *,
    account: User,
    kind: str,
    name: str,
    actor: User | None = None,
    spend_limit: Decimal | None = None,
    spend_limit_period: str = "",
    allowed_models: list[str] | None = None,
    rpm_limit: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never available again.

    At most FLOWPORT_MAX_KEYS_PER_KIND live keys per kind: the account row is locked first, so two
    concurrent creations cannot both pass the count. An inference key may start with limits (the same
    bounds as api_key_set_limits, checked before anything is written).
    """
    if kind not in ApiKeyKind.values:
        raise ApplicationError(_("Unknown key kind."), code="invalid_kind")
    name = _name_clean(name)
    limits = _limits_clean(
        spend_limit=spend_limit,
        spend_limit_period=spend_limit_period,
        allowed_models=allowed_models or [],
        rpm_limit=rpm_limit,
    )
    has_limits = (
        limits["spend_limit"] is not None or bool(limits["allowed_models"]) or limits["rpm_limit"] is not None
    )
    if has_limits and kind == ApiKeyKind.MANAGEMENT:
        raise ApplicationError(_("Management keys have no usage limits."), code="invalid_kind")
    limit = settings.FLOWPORT_MAX_KEYS_PER_KIND
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True).get()
        if ApiKey.objects.live().filter(account=account, kind=kind).count() >= limit:
            raise ApplicationError(
                _(
                    "You already have %(limit)d keys of this kind, the most allowed. Delete one to create another."
                )
                % {"limit": limit},
                code="key_limit",
            )
        secret = _secret_new(kind)
        key = ApiKey.objects.create(
            account=account,
            kind=kind,
            name=name,
            **_secret_fields(kind, secret),
            **limits,
            has_limits=has_limits,
        )
        _audit(event_type="api_key.created", key=key, actor=_actor(actor, account), details={"name": name})
        if has_limits:
            _audit(
                event_type="api_key.limits_changed",
                key=key,
                actor=_actor(actor, account),
                details=_limits_details(key),
            )
    return key, secret


@transaction.atomic
def api_key_rename(*, account: User, key_id, name: str, actor: User | None = None) -> ApiKey:
    name = _name_clean(name)
    key = _key_lock(account=account, key_id=key_id)
    previous = key.name
    if previous == name:
        return key
    key.name = name
    key.save(update_fields=["name", "updated_at"])
    _audit(
        event_type="api_key.renamed",
        key=key,
        actor=_actor(actor, account),
        details={"from": previous, "to": name},
    )
    return key


@transaction.atomic
def api_key_set_status(*, account: User, key_id, status: str, actor: User | None = None) -> ApiKey:
    """Enable or disable a key. Setting the status it already has changes nothing and writes nothing."""
    if status not in ApiKeyStatus.values:
        raise ApplicationError(_("Unknown key status."), code="invalid_status")
    key = _key_lock(account=account, key_id=key_id)
    if key.status == status:
        return key
    key.status = status
    key.save(update_fields=["status", "updated_at"])
    event = "api_key.enabled" if status == ApiKeyStatus.ENABLED else "api_key.disabled"
    _audit(event_type=event, key=key, actor=_actor(actor, account))
    if status == ApiKeyStatus.DISABLED:
        hooks.api_key_unusable.send(key=key, deleted=False, now=None)
    return key


# Bounds on per-key limits (issue #22).
SPEND_LIMIT_MAX = Decimal("999999999999")  # below the 18-digit, 6-place columns' capacity
RPM_LIMIT_MAX = 1_000_000
ALLOWED_MODELS_MAX = 50
MODEL_SLUG_MAX_LENGTH = 100


def _limit_error(field: str, message) -> ApplicationError:
    return ApplicationError(
        _("Invalid parameter %(field)s: %(error)s") % {"field": field, "error": message},
        code=f"invalid_{field}",
    )


def _limits_clean(*, spend_limit, spend_limit_period, allowed_models, rpm_limit) -> dict:
    if spend_limit is not None:
        if (
            isinstance(spend_limit, bool)
            or not isinstance(spend_limit, Decimal | int)
            or not Decimal(spend_limit).is_finite()
            or not 0 < spend_limit <= SPEND_LIMIT_MAX
            or Decimal(spend_limit).as_tuple().exponent < -6
        ):
            raise _limit_error(
                "spend_limit",
                _("Must be an amount above 0 and at most %(max)s, with at most 6 decimal places.")
                % {"max": SPEND_LIMIT_MAX},
            )
        if spend_limit_period not in LimitPeriod.values:
            raise _limit_error("spend_limit_period", _("Choose day, week, month or total."))
    else:
        spend_limit_period = ""
    models = allowed_models or []
    if not isinstance(models, list | tuple) or len(models) > ALLOWED_MODELS_MAX:
        raise _limit_error("allowed_models", _("At most %(max)d models.") % {"max": ALLOWED_MODELS_MAX})
    cleaned = []
    for slug in models:
        if not isinstance(slug, str) or not 0 < len(slug) <= MODEL_SLUG_MAX_LENGTH:
            raise _limit_error(
                "allowed_models",
                _("Each model is a name of 1 to %(max)d characters.") % {"max": MODEL_SLUG_MAX_LENGTH},
            )
        if slug not in cleaned:
            cleaned.append(slug)
    if rpm_limit is not None and (
        isinstance(rpm_limit, bool) or not isinstance(rpm_limit, int) or not 1 <= rpm_limit <= RPM_LIMIT_MAX
    ):
        raise _limit_error(
            "rpm_limit", _("Must be a whole number from 1 to %(max)d.") % {"max": RPM_LIMIT_MAX}
        )
    return {
        "spend_limit": Decimal(spend_limit) if spend_limit is not None else None,
        "spend_limit_period": spend_limit_period,
        "allowed_models": cleaned,
        "rpm_limit": rpm_limit,
    }


@transaction.atomic
def api_key_set_limits(
    *,
    account: User,
    key_id,
    spend_limit: Decimal | None,
    spend_limit_period: str,
    allowed_models: list[str],
    rpm_limit: int | None,
    actor: User | None = None,
) -> ApiKey:
    """Set an inference key's limits (issue #22): spend per period, model allow-list, RPM cap.

    None / empty clears a limit. The spend limit is in USD for pay-as-you-go keys and Flows for
    subscription keys; checking model names against the catalog is the caller's job (this layer does
    not know the catalog). Setting the limits a key already has writes nothing.
    """
    limits = _limits_clean(
        spend_limit=spend_limit,
        spend_limit_period=spend_limit_period,
        allowed_models=allowed_models,
        rpm_limit=rpm_limit,
    )
    key = _key_lock(account=account, key_id=key_id)
    if key.kind == ApiKeyKind.MANAGEMENT:
        raise ApplicationError(_("Management keys have no usage limits."), code="invalid_kind")
    previous = {field: getattr(key, field) for field in limits}
    if previous == limits:
        return key
    for field, value in limits.items():
        setattr(key, field, value)
    key.has_limits = key.spend_limit is not None or bool(key.allowed_models) or key.rpm_limit is not None
    key.save(update_fields=[*limits, "has_limits", "updated_at"])
    _audit(
        event_type="api_key.limits_changed",
        key=key,
        actor=_actor(actor, account),
        details=_limits_details(key),
    )
    return key


def _limits_details(key: ApiKey) -> dict:
    return {
        "spend_limit": str(key.spend_limit) if key.spend_limit is not None else None,
        "spend_limit_period": key.spend_limit_period,
        "allowed_models": key.allowed_models,
        "rpm_limit": key.rpm_limit,
    }


def api_key_rotate(*, account: User, key_id, actor: User | None = None) -> tuple[ApiKey, str]:
    """Give a key a new secret: same record, status, counters and history; the old secret stops at once."""
    with transaction.atomic():
        key = _key_lock(account=account, key_id=key_id)
        previous = key.masked
        secret = _secret_new(key.kind)
        for field, value in _secret_fields(key.kind, secret).items():
            setattr(key, field, value)
        key.save(update_fields=["secret_hash", "prefix", "last_four", "updated_at"])
        _audit(
            event_type="api_key.rotated", key=key, actor=_actor(actor, account), details={"from": previous}
        )
    return key, secret


@transaction.atomic
def api_key_delete(
    *, account: User, key_id, actor: User | None = None, now: datetime | None = None
) -> ApiKey:
    """Soft delete: the key is refused from now on and hidden, its record stays for usage history."""
    key = _key_lock(account=account, key_id=key_id)
    key.deleted_at = now or timezone.now()
    key.save(update_fields=["deleted_at", "updated_at"])
    _audit(event_type="api_key.deleted", key=key, actor=_actor(actor, account), details={"name": key.name})
    hooks.api_key_unusable.send(key=key, deleted=True, now=key.deleted_at)
    return key


_UNUSABLE_REFUSALS = {
    KeyUnusable.DELETED: ApiKeyRefused.DELETED,
    KeyUnusable.DISABLED: ApiKeyRefused.DISABLED,
    KeyUnusable.ACCOUNT_INACTIVE: ApiKeyRefused.ACCOUNT_INACTIVE,
    KeyUnusable.ACCOUNT_SUSPENDED: ApiKeyRefused.ACCOUNT_SUSPENDED,
    KeyUnusable.ACCOUNT_BANNED: ApiKeyRefused.ACCOUNT_BANNED,
}


def api_key_check_usable(*, key: ApiKey, expected_kinds: set[str] | None = None) -> ApiKey:
    """The key if it may be used now, else ApiKeyRefused(reason): the one rule (`api_key_unusable_reason`)
    applied to a key record, shared by the gateway, the management API and the console.

    Reasons, checked in this order: deleted, disabled, wrong_kind, then the account (inactive,
    suspended, banned).
    """
    reason = api_key_unusable_reason(key)
    if reason in (KeyUnusable.DELETED, KeyUnusable.DISABLED):
        raise ApiKeyRefused(_UNUSABLE_REFUSALS[reason], key=key)
    if expected_kinds is not None and key.kind not in expected_kinds:
        raise ApiKeyRefused(ApiKeyRefused.WRONG_KIND, key=key)
    if reason is not None:
        raise ApiKeyRefused(_UNUSABLE_REFUSALS[reason], key=key)
    return key


def api_key_authenticate(*, secret: str, expected_kinds: set[str] | None = None) -> ApiKey:
    """The usable key a secret belongs to, with its account loaded, or ApiKeyRefused(reason).

    Reasons, checked in this order: malformed, unknown, then those of `api_key_check_usable`.
    """
    if not isinstance(secret, str) or not SECRET_RE.fullmatch(secret):
        raise ApiKeyRefused(ApiKeyRefused.MALFORMED)
    key = ApiKey.objects.select_related("account").filter(secret_hash=api_key_hash(secret)).first()
    if key is None:
        raise ApiKeyRefused(ApiKeyRefused.UNKNOWN)
    return api_key_check_usable(key=key, expected_kinds=expected_kinds)


def api_key_touch(*, key: ApiKey, now: datetime | None = None) -> bool:
    """Record that a key was used, writing `last_used_at` at most once a minute per key.

    A cache `add` gates the write (no DB query on most requests); the UPDATE is conditional so the
    timestamp never moves backwards. Returns whether a write was attempted.
    """
    now = now or timezone.now()
    try:
        if not cache.add(f"apikey:touched:{key.pk}", 1, timeout=TOUCH_INTERVAL_SECONDS):
            return False
    except Exception as error:  # the shared cache (Redis) is down: "last used" waits, metering goes on
        logger.warning("api_key_touch skipped: cache unavailable: %s", error)
        return False
    updated = (
        ApiKey.objects.filter(pk=key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now))
        .update(last_used_at=now)
    )
    if updated:
        key.last_used_at = now
    return True


def api_key_usage_add(
    *, key_id: int, flows: Decimal = Decimal("0"), usd: Decimal = Decimal("0"), requests: int = 1
) -> None:
    """Add to a key's usage counters in one UPDATE (no read, no lock): the metering engine calls it when
    it settles a request (already-rounded Flows/USD), the management API with requests=1 only."""
    if flows < 0 or usd < 0 or requests < 0:
        raise ValueError("usage counters only grow")
    ApiKey.objects.filter(pk=key_id).update(
        used_flows=F("used_flows") + flows,
        used_usd=F("used_usd") + usd,
        request_count=F("request_count") + requests,
    )


def api_keys_close_for_account(*, account: User, now: datetime) -> dict:
    """`account_closing` handler: every live key of the deleted account is deleted (refused from now on;
    the records stay for usage history). Each deletion is audited and tells Extra Usage, as one by hand."""
    key_ids = list(ApiKey.objects.live().filter(account=account).order_by("pk").values_list("pk", flat=True))
    for key_id in key_ids:
        api_key_delete(account=account, key_id=key_id, actor=account, now=now)
    return {"keys_deleted": len(key_ids)}
