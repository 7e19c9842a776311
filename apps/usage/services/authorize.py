"""authorize: decide who pays for a request and reserve its estimate there (SPEC §7)."""

import contextlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus
from apps.api_keys.models import KEY_PREFIXES, ApiKey, ApiKeyKind
from apps.api_keys.services import SECRET_RE, api_key_hash
from apps.core.money import round_rate, round_usage, usd_to_flows
from apps.core.periods import calendar_period
from apps.extra_usage.selectors import extra_usage_billing_key
from apps.plans.models import CatalogModel, ModelStatus
from apps.plans.selectors import effective_usd_per_flow, flow_value_multiplier
from apps.usage import hotcache
from apps.usage.exceptions import (
    InsufficientCredit,
    KeyLimitExceeded,
    ModelNotAvailable,
    QuotaExceeded,
    RateLimited,
    RequestConflict,
)
from apps.usage.hooks import extra_usage_engaged, spend_limit_refused
from apps.usage.limits import (
    key_model_check,
    key_rpm_acquire,
    key_rpm_undo,
    key_spend_reserve,
    limit_period_bounds,
)
from apps.usage.models import (
    MAX_USER_AGENT,
    WINDOW_KINDS,
    Decision,
    KeySpend,
    Reservation,
    WindowKind,
)
from apps.usage.rpm import rpm_acquire, rpm_acquire_all, rpm_limit, rpm_undo, rpm_undo_all
from apps.usage.services import fastpath
from apps.usage.services.common import (
    MAX_REQUEST_FLOWS,
    MAX_REQUEST_USD,
    ZERO,
    _catalog_model,
    _check_flows,
    _inference_key,
    _invalid_params,
    _subscription,
)
from apps.usage.services.resets import WindowResetRefused, five_hour_window_reset
from apps.usage.services.results import AuthorizeResult
from apps.usage.windows import (
    window_max,
    window_start_if_idle,
    windows_lock,
    windows_save,
)
from apps.wallet import services as wallet_services
from apps.wallet.exceptions import SpendCapReached


def _replay(request_id: str, *, api_key: str | ApiKey, model: str) -> AuthorizeResult | None:
    """The first decision for a known request id, if this call is the same call; None if it is new.

    Only an identical call is a replay: the same request id presented with another key (so possibly
    another account) or another model is refused with 409 `request_conflict`, never given the first
    caller's decision. The key is compared by its secret's hash, so a replay needs no key lookup.
    """
    reservation = Reservation.objects.select_related("api_key", "model").filter(request_id=request_id).first()
    if reservation is None:
        return None
    if isinstance(api_key, ApiKey):
        same_key = api_key.pk == reservation.api_key_id
    else:
        same_key = isinstance(api_key, str) and hmac.compare_digest(
            api_key_hash(api_key), reservation.api_key.secret_hash
        )
    if not same_key or model != reservation.model.slug:
        raise RequestConflict(
            _(
                "Request %(request_id)s was already authorized with another key or model; "
                "use a new request_id for a new request."
            )
            % {"request_id": request_id}
        )
    return AuthorizeResult.from_reservation(reservation, replayed=True)


# --- Client metadata ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientInfo:
    """The end client the gateway saw (SPEC §7 `client`), kept for abuse signals (SPEC §14)."""

    ip: str | None = None
    user_agent: str | None = None

    def fields(self) -> dict:
        return {"client_ip": self.ip, "client_user_agent": self.user_agent}


NO_CLIENT = ClientInfo()


def client_info_clean(*, ip: str | None = None, user_agent: str | None = None) -> ClientInfo:
    """Validate the optional client metadata: an IPv4/IPv6 address and a bounded user agent."""
    if ip is not None:
        if not isinstance(ip, str):
            raise _invalid_params("client.ip", _("Enter a valid IPv4 or IPv6 address."))
        try:
            validate_ipv46_address(ip)
        except ValidationError:
            raise _invalid_params("client.ip", _("Enter a valid IPv4 or IPv6 address.")) from None
        if ":" in ip:  # stored as Django stores IPv6 (compressed, lower case): equal addresses compare equal
            ip = clean_ipv6_address(ip)
    if user_agent is not None:
        if not isinstance(user_agent, str) or len(user_agent) > MAX_USER_AGENT or "\x00" in user_agent:
            raise _invalid_params(
                "client.user_agent",
                _("Must be a string of at most %(max)d characters.") % {"max": MAX_USER_AGENT},
            )
        user_agent = user_agent or None
    return ClientInfo(ip=ip or None, user_agent=user_agent)


# --- Extra Usage hook -------------------------------------------------------------------------------------


def extra_usage_authorize(
    *,
    account,
    key: ApiKey,
    model: CatalogModel,
    estimated_cost_usd: Decimal,
    request_id: str,
    now: datetime,
    client: "ClientInfo | None" = None,
) -> Reservation | None:
    """Hook for Extra Usage (SPEC §9), called under the window locks when a window has no room.

    Returns the wallet reservation (decision payg, extra_usage True) made through the account's Extra
    Usage pay-as-you-go key, or None to refuse with quota_exceeded. The reservation's api_key is the
    subscription key that was presented; `billed_key` is the pay-as-you-go key the wallet is billed
    through. Locks: windows (caller) → Extra Usage setting → wallet, always in this order.
    """
    payg_key = extra_usage_billing_key(account=account)
    if payg_key is None:
        return None
    if not wallet_services.wallet_reserve(
        account=account, amount_usd=estimated_cost_usd, request_id=request_id, now=now
    ):
        return None
    return Reservation.objects.create(
        request_id=request_id,
        account=account,
        api_key=key,
        billed_key=payg_key,
        model=model,
        decision=Decision.PAYG,
        extra_usage=True,
        reserved_usd=estimated_cost_usd,
        created_at=now,
        **(client or NO_CLIENT).fields(),
    )


# --- authorize ------------------------------------------------------------------------------------------


def meter_authorize(
    *,
    request_id: str,
    api_key: str | ApiKey,
    model: str,
    estimated_cost_usd: Decimal = ZERO,
    now: datetime | None = None,
    client: ClientInfo | None = None,
) -> AuthorizeResult:
    """Decide who pays for a request and reserve its estimate there (SPEC §7 decision order).

    A replay of a known request id returns the first decision and reserves nothing more (it is
    checked first, so it costs no RPM slot). Refusals raise MeteringRefused and change nothing.
    `client` (built by `client_info_clean`) is stored on the reservation and its usage event.
    """
    client = client or NO_CLIENT
    now = now or timezone.now()
    if not (
        isinstance(estimated_cost_usd, Decimal | int)
        and not isinstance(estimated_cost_usd, bool)
        and Decimal(estimated_cost_usd).is_finite()
        and 0 <= estimated_cost_usd <= MAX_REQUEST_USD
    ):
        raise _invalid_params(
            "estimated_cost_usd", _("Must be an amount from 0 to %(max)s USD.") % {"max": MAX_REQUEST_USD}
        )
    estimate = round_usage(estimated_cost_usd)
    if isinstance(api_key, str) and fastpath.fast_path_enabled():
        result = _authorize_fast(
            request_id=request_id, secret=api_key, model=model, estimate=estimate, now=now, client=client
        )
        if result is not None:
            return result
    replay = _replay(request_id, api_key=api_key, model=model)
    if replay is not None:
        return replay
    key = _inference_key(api_key)
    catalog_model = _catalog_model(model)
    key_model_check(key=key, model_slug=catalog_model.slug)
    if key.kind == ApiKeyKind.PAYG:
        return _authorize_payg(
            request_id=request_id, key=key, model=catalog_model, estimate=estimate, now=now, client=client
        )
    return _authorize_subscription(
        request_id=request_id, key=key, model=catalog_model, estimate=estimate, now=now, client=client
    )


def _authorize_fast(
    *, request_id: str, secret: str, model: str, estimate: Decimal, now: datetime, client: ClientInfo
) -> AuthorizeResult | None:
    """The plain subscription case in one statement (fastpath.py), or None to take the full path.

    None means nothing was changed (the RPM slot taken here is given back): the full path then makes
    the decision from scratch, so refusals, replays, Extra Usage and window rolls all happen there.
    """
    if not SECRET_RE.fullmatch(secret) or not secret.startswith(KEY_PREFIXES[ApiKeyKind.SUBSCRIPTION]):
        return None
    catalog_model = hotcache.model_facts(model)
    if catalog_model is None or catalog_model.status != ModelStatus.AVAILABLE:
        return None
    secret_hash = api_key_hash(secret)
    key = hotcache.key_facts(secret_hash)
    account = hotcache.account_facts(key.account_id) if key is not None else None
    if key is None or account is None:
        loaded = fastpath.facts_load(secret_hash)
        if loaded is None:
            return None
        key, account = hotcache.facts_remember(secret_hash=secret_hash, loaded=loaded)
    if account.status in (AccountStatus.SUSPENDED, AccountStatus.BANNED):
        return None
    if catalog_model.min_plan_rank > account.plan_rank:
        return None
    if key.allowed_models and catalog_model.slug not in key.allowed_models:
        return None  # the full path refuses it (404 model_not_allowed)
    rate = round_rate(hotcache.base_rate() * flow_value_multiplier(account=account))
    estimate_flows = usd_to_flows(estimate, rate)
    if estimate_flows > MAX_REQUEST_FLOWS:
        return None
    account_rpm = (key.account_id, rpm_limit(account=account, plan=SimpleNamespace(rpm=account.plan_rpm)))
    if key.rpm_limit is None:
        rpm_names = [key.account_id]
        rpm = rpm_acquire(account_id=account_rpm[0], limit=account_rpm[1], now=now)
    else:  # the key's own cap and the account's, all or nothing, in one round trip (limits.py's names)
        rpm_names = [f"key:{key.id}", key.account_id]
        rpm = rpm_acquire_all(limits=[(rpm_names[0], key.rpm_limit), account_rpm], now=now)
    if not rpm.admitted:
        return None
    limits = fastpath.NO_LIMITS
    if key.spend_limit is not None or key.allowed_models or key.rpm_limit is not None:
        limits = fastpath.KeyLimits(
            spend_limit=key.spend_limit,
            spend_limit_period=key.spend_limit_period,
            allowed_models_json=key.allowed_models_json,
            rpm_limit=key.rpm_limit,
            period_start=(
                limit_period_bounds(period=key.spend_limit_period, now=now)[0]
                if key.spend_limit is not None
                else None
            ),
        )
    reserved = fastpath.authorize_reserve(
        request_id=request_id,
        secret_hash=secret_hash,
        key_id=key.id,
        account_id=key.account_id,
        account_status=account.status,
        multiplier=account.flow_value_multiplier,
        plan_id=account.plan_id,
        model_id=catalog_model.id,
        flows=estimate_flows,
        rpm_remaining=rpm.remaining,
        now=now,
        client_ip=client.ip,
        client_user_agent=client.user_agent,
        limits=limits,
    )
    if reserved.reservation_id is None:
        rpm_undo_all(names=rpm_names, result=rpm)
        if not reserved.facts_current:
            hotcache.key_forget(secret_hash)
            hotcache.account_forget(key.account_id)
        return None
    return AuthorizeResult(
        request_id=request_id,
        decision=Decision.SUBSCRIPTION,
        extra_usage=False,
        account_id=key.account_id,
        key_id=key.id,
        reserved_flows=estimate_flows,
        reserved_usd=ZERO,
        rpm_remaining=rpm.remaining,
        replayed=False,
    )


def _limit_refused(
    *, account_id: int, key: ApiKey, error: KeyLimitExceeded | SpendCapReached, now: datetime
) -> None:
    """Tell notifications a key limit or a spend cap refused a request (after the rollback)."""
    start, _end = calendar_period(period=error.period, now=now)
    spend_limit_refused.send(
        account_id=account_id,
        key_id=key.pk,
        key_name=key.name,
        limit="key" if isinstance(error, KeyLimitExceeded) else "cap",
        period=error.period,
        period_start=start,
        resets_at=error.resets_at,
    )


class _AutoReset(Exception):
    """Rolls the authorize transaction back so the 5-hour window can be auto-reset (then retried once)."""

    def __init__(self, started_at: datetime):
        super().__init__(started_at)
        self.started_at = started_at


def _auto_reset_due(*, subscription, blocking) -> bool:
    """Auto-reset applies when only the 5-hour window is out of room and a reset is left (issue #22)."""
    return (
        subscription.window_auto_reset
        and [window.kind for window in blocking] == [WindowKind.FIVE_HOUR]
        and blocking[0].started_at is not None
        and subscription.window_resets_remaining > 0
    )


def _authorize_subscription(
    *,
    request_id: str,
    key: ApiKey,
    model: CatalogModel,
    estimate: Decimal,
    now: datetime,
    client: ClientInfo,
    auto_reset: bool = True,
) -> AuthorizeResult:
    account = key.account
    subscription = _subscription(account)
    plan = subscription.plan
    if model.min_plan.rank > plan.rank:
        raise ModelNotAvailable(
            _(
                "Model %(model)s is not included in the %(plan)s plan. Upgrade your plan, or call it "
                "with a pay-as-you-go key."
            )
            % {"model": model.slug, "plan": plan.name}
        )
    estimate_flows = _check_flows(
        usd_to_flows(estimate, effective_usd_per_flow(account=account)), field="estimated_cost_usd"
    )
    key_rpm = key_rpm_acquire(key=key, now=now)
    rpm = rpm_acquire(account_id=account.pk, limit=rpm_limit(account=account, plan=plan), now=now)
    if not rpm.admitted:
        key_rpm_undo(key=key, rpm=key_rpm)
        raise RateLimited(
            _("Rate limit exceeded: at most %(rpm)d requests per minute on your plan.")
            % {"rpm": rpm_limit(account=account, plan=plan)},
            retry_after=rpm.retry_after,
        )
    refusal = None
    try:
        with transaction.atomic():
            limit_start = key_spend_reserve(key=key, amount=estimate_flows, now=now)
            windows = windows_lock(account=account, subscription=subscription, now=now)
            blocking = [
                windows[kind]
                for kind in WINDOW_KINDS
                if windows[kind].used_flows + windows[kind].reserved_flows >= window_max(plan=plan, kind=kind)
            ]
            if blocking and auto_reset and _auto_reset_due(subscription=subscription, blocking=blocking):
                raise _AutoReset(blocking[0].started_at)
            if not blocking:
                for kind in WINDOW_KINDS:
                    window_start_if_idle(window=windows[kind], now=now)
                    windows[kind].reserved_flows += estimate_flows
                windows_save(list(windows.values()), ["started_at", "resets_at", "reserved_flows"])
                reservation = Reservation.objects.create(
                    request_id=request_id,
                    account=account,
                    api_key=key,
                    model=model,
                    decision=Decision.SUBSCRIPTION,
                    reserved_flows=estimate_flows,
                    five_hour_started_at=windows["five_hour"].started_at,
                    weekly_started_at=windows["weekly"].started_at,
                    monthly_started_at=windows["monthly"].started_at,
                    rpm_remaining=rpm.remaining,
                    key_limit_start=limit_start,
                    key_limit_reserved=estimate_flows if limit_start is not None else ZERO,
                    created_at=now,
                    **client.fields(),
                )
            else:
                reservation = extra_usage_authorize(
                    account=account,
                    key=key,
                    model=model,
                    estimated_cost_usd=estimate,
                    request_id=request_id,
                    now=now,
                    client=client,
                )
                if reservation is not None:
                    latest = max(
                        blocking, key=lambda window: (window.resets_at is not None, window.resets_at)
                    )
                    extra_usage_engaged.send(account_id=account.pk, window=latest)
                if reservation is not None and limit_start is not None:
                    reservation.key_limit_start = limit_start
                    reservation.key_limit_reserved = estimate_flows
                    reservation.save(update_fields=["key_limit_start", "key_limit_reserved"])
                elif reservation is None and limit_start is not None:  # refused: give the room back
                    KeySpend.objects.filter(api_key=key, period_start=limit_start).update(
                        reserved=F("reserved") - estimate_flows
                    )
                if reservation is None:
                    resets = [window.resets_at for window in blocking if window.resets_at is not None]
                    refusal = QuotaExceeded(
                        _("Your subscription quota is used up until its window resets."),
                        resets_at=max(resets) if resets else None,
                    )
    except (KeyLimitExceeded, SpendCapReached) as error:
        rpm_undo(account_id=account.pk, result=rpm)
        key_rpm_undo(key=key, rpm=key_rpm)
        _limit_refused(account_id=account.pk, key=key, error=error, now=now)
        raise
    except _AutoReset as due:  # nothing was written: spend one reset (once per window), then decide again
        rpm_undo(account_id=account.pk, result=rpm)
        key_rpm_undo(key=key, rpm=key_rpm)
        # Refused when another request reset it meanwhile, or the last reset was just spent.
        with contextlib.suppress(WindowResetRefused):
            five_hour_window_reset(account=account, window_started_at=due.started_at, auto=True, now=now)
        return _authorize_subscription(
            request_id=request_id,
            key=key,
            model=model,
            estimate=estimate,
            now=now,
            client=client,
            auto_reset=False,
        )
    except IntegrityError:
        # The same request id was authorized concurrently and won the insert: this call is a replay.
        rpm_undo(account_id=account.pk, result=rpm)
        key_rpm_undo(key=key, rpm=key_rpm)
        replay = _replay(request_id, api_key=key, model=model.slug)
        if replay is None:
            raise
        return replay
    if refusal is not None:  # raised after the commit: the lazy rolls made on the way are kept
        raise refusal
    return AuthorizeResult.from_reservation(reservation, replayed=False)


def _authorize_payg(
    *, request_id: str, key: ApiKey, model: CatalogModel, estimate: Decimal, now: datetime, client: ClientInfo
) -> AuthorizeResult:
    account = key.account
    key_rpm = key_rpm_acquire(key=key, now=now)
    try:
        with transaction.atomic():
            limit_start = key_spend_reserve(key=key, amount=estimate, now=now)
            if not wallet_services.wallet_reserve(
                account=account, amount_usd=estimate, request_id=request_id, now=now
            ):
                raise InsufficientCredit(
                    _("Your pay-as-you-go balance is too low. Top up your wallet to continue.")
                )
            reservation = Reservation.objects.create(
                request_id=request_id,
                account=account,
                api_key=key,
                model=model,
                decision=Decision.PAYG,
                reserved_usd=estimate,
                key_limit_start=limit_start,
                key_limit_reserved=estimate if limit_start is not None else ZERO,
                created_at=now,
                **client.fields(),
            )
    except (KeyLimitExceeded, InsufficientCredit, SpendCapReached) as error:
        key_rpm_undo(key=key, rpm=key_rpm)
        if not isinstance(error, InsufficientCredit):
            _limit_refused(account_id=account.pk, key=key, error=error, now=now)
        raise
    except IntegrityError:
        key_rpm_undo(key=key, rpm=key_rpm)
        replay = _replay(request_id, api_key=key, model=model.slug)
        if replay is None:
            raise
        return replay
    return AuthorizeResult.from_reservation(reservation, replayed=False)
