"""Refusals and lookups shared by the metering services."""

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import ApiKeyRefused, api_key_authenticate, api_key_check_usable
from apps.plans.models import CatalogModel, ModelStatus, Subscription
from apps.usage.exceptions import AccessDenied, InvalidModel, InvalidParams, ModelNotAvailable, NotAuthorized

ZERO = Decimal("0")
MILLION = Decimal("1000000")
# Bounds on what the gateway may send (checked before anything is written). The money and Flow columns
# hold 18 digits with 6 places (< 10^12); one request is bounded far below that so that the counters
# that sum requests (key totals, windows, the ledger) keep room for a very long life.
MAX_TOKENS = 10**12  # per request and direction; sums of many requests still fit a 64-bit integer
MAX_REQUEST_USD = Decimal("1000000")  # one request's estimate or cost
MAX_REQUEST_FLOWS = Decimal("999999999999.999999")  # the Flow columns' capacity (max_digits=18, 6 places)
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
        ApiKeyRefused.ACCOUNT_INACTIVE: _("This account is deactivated."),
        ApiKeyRefused.ACCOUNT_SUSPENDED: _("This account is suspended."),
        ApiKeyRefused.ACCOUNT_BANNED: _("This account is banned."),
    }
    return _access_denied(messages[reason])


def _not_authorized(request_id: str) -> NotAuthorized:
    return NotAuthorized(_("Request %(request_id)s was never authorized.") % {"request_id": request_id})


def _released(request_id: str) -> NotAuthorized:
    return NotAuthorized(
        _("Request %(request_id)s was released; it can no longer be billed.") % {"request_id": request_id}
    )


def _invalid_params(field: str, message) -> InvalidParams:
    return InvalidParams(_("Invalid parameter %(field)s: %(error)s") % {"field": field, "error": message})


def _check_flows(flows: Decimal, *, field: str) -> Decimal:
    """A request's Flows must fit the Flow columns (only reachable with an extreme account multiplier)."""
    if flows > MAX_REQUEST_FLOWS:
        raise _invalid_params(field, _("This cost is more Flows than one request may use."))
    return flows


# --- Lookups --------------------------------------------------------------------------------------------


def _inference_key(api_key: str | ApiKey) -> ApiKey:
    """The usable inference key for a presented secret (or, for trusted callers, a key record).

    Key and account are checked by the one rule of apps.api_keys (`api_key_check_usable`).
    """
    try:
        if isinstance(api_key, ApiKey):
            return api_key_check_usable(key=api_key, expected_kinds=set(INFERENCE_KINDS))
        return api_key_authenticate(secret=api_key, expected_kinds=set(INFERENCE_KINDS))
    except ApiKeyRefused as refused:
        raise _key_refusal(refused.reason) from refused


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
