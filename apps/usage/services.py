"""The metering engine (SPEC §5, §7): authorize → usage | release, keyed by the gateway's request id.

Guarantee: a request is admitted only while every window has room (`used + reserved < max`), checked
and reserved under the window row locks in one transaction, so no window ends more than one request's
cost above its max whatever the concurrency (as long as estimates cover actual costs). Each window's
`used_flows` is exactly the sum of the Flows of the usage events settled into it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import ApiKeyRefused, api_key_authenticate, api_key_touch
from apps.core.money import round_usage, usd_to_flows
from apps.plans.models import CatalogModel, ModelStatus, Subscription
from apps.plans.selectors import effective_usd_per_flow
from apps.plans.services import subscription_ensure
from apps.usage import wallet_bridge
from apps.usage.exceptions import MeteringRefused
from apps.usage.models import (
    WINDOW_KINDS,
    Decision,
    QuotaWindow,
    QuotaWindowArchive,
    Reservation,
    ReservationStatus,
    UsageEvent,
    WindowKind,
)
from apps.usage.rpm import rpm_acquire, rpm_limit, rpm_undo
from apps.usage.windows import (
    DURATIONS,
    archive_finished,
    window_max,
    window_start_if_idle,
    windows_lock,
)

ZERO = Decimal("0")
MILLION = Decimal("1000000")
STALE_AFTER = timedelta(minutes=15)
INFERENCE_KINDS = frozenset({ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG})


# --- Results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizeResult:
    request_id: str
    decision: str
    extra_usage: bool
    account_id: int
    key_id: int
    reserved_flows: Decimal
    reserved_usd: Decimal
    rpm_remaining: int | None
    replayed: bool = False

    @classmethod
    def from_reservation(cls, reservation: Reservation, *, replayed: bool) -> "AuthorizeResult":
        return cls(
            request_id=reservation.request_id,
            decision=reservation.decision,
            extra_usage=reservation.extra_usage,
            account_id=reservation.account_id,
            key_id=reservation.api_key_id,
            reserved_flows=reservation.reserved_flows,
            reserved_usd=reservation.reserved_usd,
            rpm_remaining=reservation.rpm_remaining,
            replayed=replayed,
        )

    def as_data(self) -> dict:
        data = {
            "request_id": self.request_id,
            "decision": self.decision,
            "extra_usage": self.extra_usage,
            "account_id": self.account_id,
            "key_id": self.key_id,
        }
        if self.decision == Decision.SUBSCRIPTION:
            data["reserved_flows"] = str(round_usage(self.reserved_flows))
        else:
            data["reserved_usd"] = str(round_usage(self.reserved_usd))
        data["rpm_remaining"] = self.rpm_remaining
        return data


@dataclass(frozen=True)
class UsageResult:
    request_id: str
    billed_to: str
    extra_usage: bool
    flows: Decimal
    cost_usd: Decimal
    replayed: bool = False

    @classmethod
    def from_event(cls, event: UsageEvent, *, replayed: bool) -> "UsageResult":
        return cls(
            request_id=event.request_id,
            billed_to=event.billed_to,
            extra_usage=event.extra_usage,
            flows=event.flows,
            cost_usd=event.cost_usd,
            replayed=replayed,
        )

    def as_data(self) -> dict:
        return {
            "request_id": self.request_id,
            "billed_to": self.billed_to,
            "extra_usage": self.extra_usage,
            "flows": str(round_usage(self.flows)),
            "cost_usd": str(round_usage(self.cost_usd)),
        }


@dataclass(frozen=True)
class ReleaseResult:
    request_id: str
    status: str
    released: bool  # False when this call changed nothing (a replay, or the request was settled)

    def as_data(self) -> dict:
        return {"request_id": self.request_id, "status": self.status}


# --- Refusals -------------------------------------------------------------------------------------------


def _access_denied(message) -> MeteringRefused:
    return MeteringRefused(message, status=403, code="access_denied")


def _key_refusal(reason: str) -> MeteringRefused:
    messages = {
        ApiKeyRefused.MALFORMED: _("The API key is not valid."),
        ApiKeyRefused.UNKNOWN: _("The API key is not valid."),
        ApiKeyRefused.DISABLED: _("This API key is disabled."),
        ApiKeyRefused.DELETED: _("This API key has been deleted."),
        ApiKeyRefused.WRONG_KIND: _("A management key cannot be used for inference."),
    }
    return _access_denied(messages[reason])


def _not_authorized(request_id: str) -> MeteringRefused:
    return MeteringRefused(
        _("Request %(request_id)s was never authorized.") % {"request_id": request_id},
        status=409,
        code="not_authorized",
    )


def _released(request_id: str) -> MeteringRefused:
    return MeteringRefused(
        _("Request %(request_id)s was released; it can no longer be billed.") % {"request_id": request_id},
        status=409,
        code="not_authorized",
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
        raise MeteringRefused(
            _("Unknown model %(model)s.") % {"model": slug}, status=404, code="invalid_model"
        )
    if model.status != ModelStatus.AVAILABLE:
        raise MeteringRefused(
            _("Model %(model)s is coming soon and cannot be called yet.") % {"model": slug},
            status=404,
            code="model_not_available",
        )
    return model


def _subscription(account) -> Subscription:
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    if subscription is None:
        subscription = subscription_ensure(account=account)
        subscription = Subscription.objects.select_related("plan").get(pk=subscription.pk)
    return subscription


def _replay(request_id: str) -> AuthorizeResult | None:
    reservation = Reservation.objects.filter(request_id=request_id).first()
    if reservation is None:
        return None
    return AuthorizeResult.from_reservation(reservation, replayed=True)


# --- Extra Usage hook -------------------------------------------------------------------------------------


def extra_usage_authorize(
    *, account, key: ApiKey, model: CatalogModel, estimated_cost_usd: Decimal, request_id: str, now: datetime
) -> Reservation | None:
    """Hook for Extra Usage (SPEC §9), called under the window locks when a window has no room.

    Returns the wallet reservation (decision payg, extra_usage True) made through the account's Extra
    Usage pay-as-you-go key, or None to refuse with quota_exceeded. Extra Usage is not built yet.
    """
    return None


# --- authorize ------------------------------------------------------------------------------------------


def meter_authorize(
    *,
    request_id: str,
    api_key: str | ApiKey,
    model: str,
    estimated_cost_usd: Decimal = ZERO,
    now: datetime | None = None,
) -> AuthorizeResult:
    """Decide who pays for a request and reserve its estimate there (SPEC §7 decision order).

    A replay of a known request id returns the first decision and reserves nothing more (it is
    checked first, so it costs no RPM slot). Refusals raise MeteringRefused and change nothing.
    """
    now = now or timezone.now()
    estimate = round_usage(estimated_cost_usd)
    replay = _replay(request_id)
    if replay is not None:
        return replay
    key = _inference_key(api_key)
    account = key.account
    _check_account(account)
    catalog_model = _catalog_model(model)
    if key.kind == ApiKeyKind.PAYG:
        return _authorize_payg(
            request_id=request_id, key=key, model=catalog_model, estimate=estimate, now=now
        )
    return _authorize_subscription(
        request_id=request_id, key=key, model=catalog_model, estimate=estimate, now=now
    )


def _authorize_subscription(
    *, request_id: str, key: ApiKey, model: CatalogModel, estimate: Decimal, now: datetime
) -> AuthorizeResult:
    account = key.account
    subscription = _subscription(account)
    plan = subscription.plan
    if model.min_plan.rank > plan.rank:
        raise MeteringRefused(
            _(
                "Model %(model)s is not included in the %(plan)s plan. Upgrade your plan, or call it "
                "with a pay-as-you-go key."
            )
            % {"model": model.slug, "plan": plan.name},
            status=404,
            code="model_not_available",
        )
    estimate_flows = usd_to_flows(estimate, effective_usd_per_flow(account=account))
    rpm = rpm_acquire(account_id=account.pk, limit=rpm_limit(account=account, plan=plan), now=now)
    if not rpm.admitted:
        raise MeteringRefused(
            _("Rate limit exceeded: at most %(rpm)d requests per minute on your plan.")
            % {"rpm": rpm_limit(account=account, plan=plan)},
            status=429,
            code="rate_limit",
            retry_after=rpm.retry_after,
        )
    refusal = None
    try:
        with transaction.atomic():
            windows = windows_lock(account=account, subscription=subscription, now=now)
            blocking = [
                windows[kind]
                for kind in WINDOW_KINDS
                if windows[kind].used_flows + windows[kind].reserved_flows >= window_max(plan=plan, kind=kind)
            ]
            if not blocking:
                for kind in WINDOW_KINDS:
                    window_start_if_idle(window=windows[kind], now=now)
                    windows[kind].reserved_flows += estimate_flows
                QuotaWindow.objects.bulk_update(
                    list(windows.values()), ["started_at", "resets_at", "reserved_flows"]
                )
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
                    created_at=now,
                )
            else:
                reservation = extra_usage_authorize(
                    account=account,
                    key=key,
                    model=model,
                    estimated_cost_usd=estimate,
                    request_id=request_id,
                    now=now,
                )
                if reservation is None:
                    resets = [window.resets_at for window in blocking if window.resets_at is not None]
                    refusal = MeteringRefused(
                        _("Your subscription quota is used up until its window resets."),
                        status=402,
                        code="quota_exceeded",
                        resets_at=max(resets) if resets else None,
                    )
    except IntegrityError:
        # The same request id was authorized concurrently and won the insert: this call is a replay.
        rpm_undo(account_id=account.pk, result=rpm)
        replay = _replay(request_id)
        if replay is None:
            raise
        return replay
    if refusal is not None:  # raised after the commit: the lazy rolls made on the way are kept
        raise refusal
    return AuthorizeResult.from_reservation(reservation, replayed=False)


def _authorize_payg(
    *, request_id: str, key: ApiKey, model: CatalogModel, estimate: Decimal, now: datetime
) -> AuthorizeResult:
    account = key.account
    try:
        with transaction.atomic():
            if not wallet_bridge.wallet_reserve(account=account, amount_usd=estimate, request_id=request_id):
                raise MeteringRefused(
                    _("Your pay-as-you-go balance is too low. Top up your wallet to continue."),
                    status=402,
                    code="insufficient_credit",
                )
            reservation = Reservation.objects.create(
                request_id=request_id,
                account=account,
                api_key=key,
                model=model,
                decision=Decision.PAYG,
                reserved_usd=estimate,
                created_at=now,
            )
    except IntegrityError:
        replay = _replay(request_id)
        if replay is None:
            raise
        return replay
    return AuthorizeResult.from_reservation(reservation, replayed=False)


# --- usage ----------------------------------------------------------------------------------------------


def usage_cost_from_list_prices(*, model: CatalogModel, input_tokens: int, output_tokens: int) -> Decimal:
    """input × input price / 1M + output × output price / 1M + per-request price, 6 places."""
    if not model.has_list_prices:
        raise MeteringRefused(
            _("Model %(model)s has no list prices: cost_usd is required.") % {"model": model.slug},
            status=400,
            code="invalid_params",
        )
    cost = (
        Decimal(input_tokens) * (model.input_usd_per_mtok or ZERO) / MILLION
        + Decimal(output_tokens) * (model.output_usd_per_mtok or ZERO) / MILLION
        + (model.usd_per_request or ZERO)
    )
    return round_usage(cost)


def _event_replay(request_id: str) -> UsageResult | None:
    event = UsageEvent.objects.filter(request_id=request_id).first()
    return UsageResult.from_event(event, replayed=True) if event is not None else None


def meter_usage(
    *,
    request_id: str,
    input_tokens: int,
    output_tokens: int,
    cost_usd: Decimal | None = None,
    now: datetime | None = None,
) -> UsageResult:
    """Settle an authorized request: the actual cost replaces the estimate (even when larger).

    Idempotent: a replay returns the first result and bills nothing.
    """
    now = now or timezone.now()
    replay = _event_replay(request_id)
    if replay is not None:
        return replay
    reservation = Reservation.objects.select_related("model").filter(request_id=request_id).first()
    if reservation is None:
        raise _not_authorized(request_id)
    if reservation.status == ReservationStatus.RELEASED:
        raise _released(request_id)
    if cost_usd is None:
        cost = usage_cost_from_list_prices(
            model=reservation.model, input_tokens=input_tokens, output_tokens=output_tokens
        )
    else:
        cost = round_usage(cost_usd)
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("account", "api_key", "model")
            .get(pk=reservation.pk)
        )
        if reservation.status == ReservationStatus.RELEASED:
            raise _released(request_id)
        if reservation.status == ReservationStatus.SETTLED:
            return UsageResult.from_event(UsageEvent.objects.get(request_id=request_id), replayed=True)
        account = reservation.account
        flows = ZERO
        if reservation.decision == Decision.SUBSCRIPTION:
            flows = usd_to_flows(cost, effective_usd_per_flow(account=account))
            _settle_windows(reservation=reservation, flows=flows, now=now)
        else:
            wallet_bridge.wallet_settle(
                account=account,
                reserved_usd=reservation.reserved_usd,
                cost_usd=cost,
                request_id=request_id,
                api_key=reservation.api_key,
                description=reservation.model.slug,
            )
        reservation.status = ReservationStatus.SETTLED
        reservation.settled_at = now
        reservation.save(update_fields=["status", "settled_at"])
        event = UsageEvent.objects.create(
            request_id=request_id,
            account=account,
            api_key=reservation.api_key,
            model_id=reservation.model_id,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            flows=flows,
            billed_to=reservation.decision,
            extra_usage=reservation.extra_usage,
            created_at=now,
        )
        ApiKey.objects.filter(pk=reservation.api_key_id).update(
            used_flows=F("used_flows") + flows,
            used_usd=F("used_usd") + cost,
            request_count=F("request_count") + 1,
        )
    api_key_touch(key=reservation.api_key, now=now)
    return UsageResult.from_event(event, replayed=False)


def _settle_windows(*, reservation: Reservation, flows: Decimal, now: datetime) -> None:
    """Move the reservation's Flows from reserved to used in each window it was reserved in.

    A window that rolled since authorize had its reserved amount zeroed by the roll; the actual Flows
    then go to the archive of the window they were reserved in, so every window's used total stays
    the exact sum of its settled events.
    """
    account = reservation.account
    windows = windows_lock(account=account, subscription=_subscription(account), now=now)
    settled = []
    for kind in WINDOW_KINDS:
        window = windows[kind]
        start = reservation.window_start(kind)
        if window.started_at == start:
            window.reserved_flows = max(ZERO, window.reserved_flows - reservation.reserved_flows)
            window.used_flows += flows
            settled.append(window)
        elif start is not None:
            ended = start + DURATIONS[kind] if kind in DURATIONS else now
            archive = archive_finished(account=account, kind=kind, finished=(start, ended, ZERO), now=now)
            QuotaWindowArchive.objects.filter(pk=archive.pk).update(used_flows=F("used_flows") + flows)
    if settled:
        QuotaWindow.objects.bulk_update(settled, ["reserved_flows", "used_flows"])


# --- release --------------------------------------------------------------------------------------------


def meter_release(*, request_id: str, now: datetime | None = None) -> ReleaseResult:
    """Drop an active reservation; nothing is billed. Idempotent (a replay changes nothing)."""
    now = now or timezone.now()
    reservation = Reservation.objects.filter(request_id=request_id).only("pk", "status").first()
    if reservation is None:
        raise _not_authorized(request_id)
    if reservation.status != ReservationStatus.ACTIVE:
        return ReleaseResult(request_id=request_id, status=reservation.status, released=False)
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=reservation.pk)
        )
        if reservation.status != ReservationStatus.ACTIVE:
            return ReleaseResult(request_id=request_id, status=reservation.status, released=False)
        account = reservation.account
        if reservation.decision == Decision.SUBSCRIPTION:
            windows = windows_lock(account=account, subscription=_subscription(account), now=now)
            for kind in WINDOW_KINDS:
                window = windows[kind]
                if window.started_at == reservation.window_start(kind):
                    window.reserved_flows = max(ZERO, window.reserved_flows - reservation.reserved_flows)
                    window.save(update_fields=["reserved_flows"])
        else:
            wallet_bridge.wallet_release(
                account=account, reserved_usd=reservation.reserved_usd, request_id=request_id
            )
        reservation.status = ReservationStatus.RELEASED
        reservation.settled_at = now
        reservation.save(update_fields=["status", "settled_at"])
    return ReleaseResult(request_id=request_id, status=ReservationStatus.RELEASED, released=True)


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
