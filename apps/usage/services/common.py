"""Refusals and lookups shared by the metering services."""

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import ApiKeyRefused, api_key_authenticate
from apps.plans.models import CatalogModel, ModelStatus, Subscription
from apps.usage.exceptions import AccessDenied, InvalidModel, ModelNotAvailable, NotAuthorized

ZERO = Decimal("0")
MILLION = Decimal("1000000")
STALE_AFTER = timedelta(minutes=15)
INFERENCE_KINDS = frozenset({ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG})


# --- Refusals -------------------------------------------------------------------------------------------


def _access_denied(message) -> AccessDenied:
    return AccessDenied(message)


def _key_refusal(reason: str) -> AccessDenied:
    messages = {
        ApiKeyRefused.MALFORMED: _("The API key is not valid."),
        ApiKeyRefused.UNKNOWN: _("The API key is not valid."),
        ApiKeyRefused.DISABLED: _("This API key is disabled."),
        ApiKeyRefused.DELETED: _("This API key has been deleted."),
        ApiKeyRefused.WRONG_KIND: _("A management key cannot be used for inference."),
    }
    return _access_denied(messages[reason])


def _not_authorized(request_id: str) -> NotAuthorized:
    return NotAuthorized(_("Request %(request_id)s was never authorized.") % {"request_id": request_id})


def _released(request_id: str) -> NotAuthorized:
    return NotAuthorized(
        _("Request %(request_id)s was released; it can no longer be billed.") % {"request_id": request_id}
    )


# --- Lookups --------------------------------------------------------------------------------------------


def _inference_key(api_key: str | ApiKey) -> ApiKey:
    """The enabled inference key for a presented secret (or, for trusted callers, a key record)."""
    if isinstance(api_key, ApiKey):
        if api_key.deleted_at is not None:
            raise _key_refusal(ApiKeyRefused.DELETED)
        if not api_key.is_enabled:
            raise _key_refusal(ApiKeyRefused.DISABLED)
        if api_key.kind not in INFERENCE_KINDS:
            raise _key_refusal(ApiKeyRefused.WRONG_KIND)
        return api_key
    try:
        return api_key_authenticate(secret=api_key, expected_kinds=set(INFERENCE_KINDS))
    except ApiKeyRefused as refused:
        raise _key_refusal(refused.reason) from refused


def _check_account(account) -> None:
    if account.status == AccountStatus.SUSPENDED:
        raise _access_denied(_("This account is suspended."))
    if account.status == AccountStatus.BANNED:
        raise _access_denied(_("This account is banned."))


def _catalog_model(slug: str) -> CatalogModel:
    model = CatalogModel.objects.select_related("min_plan").filter(slug=slug).first()
    if model is None:
        raise InvalidModel(_("Unknown model %(model)s.") % {"model": slug})
    if model.status != ModelStatus.AVAILABLE:
        raise ModelNotAvailable(
            _("Model %(model)s is coming soon and cannot be called yet.") % {"model": slug}
        )
    return model


def _subscription(account) -> Subscription:
    return Subscription.objects.select_related("plan").get(account=account)
