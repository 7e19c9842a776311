"""usage and release: settle or drop a reservation (SPEC §7)."""

import time
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import TOUCH_INTERVAL_SECONDS, api_key_touch
from apps.core.money import round_rate, round_usage, usd_to_flows
from apps.plans.models import CatalogModel
from apps.plans.selectors import effective_usd_per_flow, flow_value_multiplier
from apps.usage import hotcache
from apps.usage.exceptions import InvalidParams
from apps.usage.hooks import WindowUsage, quota_usage_check
from apps.usage.limits import key_spend_alert, key_spend_release, key_spend_settle
from apps.usage.models import (
    WINDOW_KINDS,
    Decision,
    QuotaWindowArchive,
    Reservation,
    ReservationStatus,
    UsageEvent,
)
from apps.usage.services import fastpath
from apps.usage.services.common import (
    MAX_REQUEST_FLOWS,
    MAX_REQUEST_USD,
    MAX_TOKENS,
    MILLION,
    ZERO,
    _check_flows,
    _invalid_params,
    _not_authorized,
    _released,
    _subscription,
)
from apps.usage.services.results import ReleaseResult, UsageResult
from apps.usage.windows import (
    DURATIONS,
    archive_finished,
    window_max,
    windows_lock,
    windows_save,
)
from apps.wallet import services as wallet_services

# --- usage ----------------------------------------------------------------------------------------------


def usage_cost_from_list_prices(
    *, model: "CatalogModel | hotcache.ModelFacts", input_tokens: int, output_tokens: int
) -> Decimal:
    """input × input price / 1M + output × output price / 1M + per-request price, 6 places."""
    if not model.has_list_prices:
        raise InvalidParams(
            _("Model %(model)s has no list prices: cost_usd is required.") % {"model": model.slug}
        )
    cost = round_usage(
        Decimal(input_tokens) * (model.input_usd_per_mtok or ZERO) / MILLION
        + Decimal(output_tokens) * (model.output_usd_per_mtok or ZERO) / MILLION
        + (model.usd_per_request or ZERO)
    )
    if cost > MAX_REQUEST_USD:
        raise _invalid_params(
            "input_tokens",
            _("The cost of these token counts at the model's list prices exceeds %(max)s USD per request.")
            % {"max": MAX_REQUEST_USD},
        )
    return cost


def _check_usage_input(*, input_tokens: int, output_tokens: int, cost_usd: Decimal | None) -> None:
    """Token counts and cost within the columns' capacity, before anything is read or written."""
    for field, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
            raise _invalid_params(field, _("Must be a whole number from 0 to %(max)d.") % {"max": MAX_TOKENS})
    if cost_usd is not None and not (
        isinstance(cost_usd, Decimal) and cost_usd.is_finite() and 0 <= cost_usd <= MAX_REQUEST_USD
    ):
        raise _invalid_params(
            "cost_usd", _("Must be an amount from 0 to %(max)s USD.") % {"max": MAX_REQUEST_USD}
        )


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
    _check_usage_input(input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost_usd)
    if fastpath.fast_path_enabled():
        result = _usage_fast(
            request_id=request_id,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd,
            now=now,
        )
        if result is not None:
            return result
    replay = _event_replay(request_id)
    if replay is not None:
        return replay
    reservation = Reservation.objects.select_related("model", "account").filter(request_id=request_id).first()
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
    cost_field = "cost_usd" if cost_usd is not None else "input_tokens"
    if reservation.decision == Decision.SUBSCRIPTION:  # refused before anything is locked or written
        _check_flows(
            usd_to_flows(cost, effective_usd_per_flow(account=reservation.account)),
            field=cost_field,
        )
    with transaction.atomic():
        reservation = (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("account", "api_key", "billed_key", "model")
            .get(pk=reservation.pk)
        )
        if reservation.status == ReservationStatus.RELEASED:
            raise _released(request_id)
        if reservation.status == ReservationStatus.SETTLED:
            return UsageResult.from_event(UsageEvent.objects.get(request_id=request_id), replayed=True)
        account = reservation.account
        flows = ZERO
        if reservation.decision == Decision.SUBSCRIPTION:
            flows = _check_flows(
                usd_to_flows(cost, effective_usd_per_flow(account=account)), field=cost_field
            )
        if reservation.key_limit_start is not None:  # locked before the windows (limits.py lock order)
            key_spend_settle(
                key_id=reservation.api_key_id,
                start=reservation.key_limit_start,
                reserved=reservation.key_limit_reserved,
                used=_key_limit_amount(reservation=reservation, cost=cost, flows=flows),
                key=reservation.api_key,
            )
        if reservation.decision == Decision.SUBSCRIPTION:
            _settle_windows(reservation=reservation, flows=flows, now=now)
        else:
            wallet_services.wallet_settle(
                account=account,
                reserved_usd=reservation.reserved_usd,
                cost_usd=cost,
                request_id=request_id,
                api_key=reservation.billed_key or reservation.api_key,
                description=(
                    f"Extra Usage · {reservation.model.slug}"
                    if reservation.extra_usage
                    else reservation.model.slug
                ),
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
            billed_key_id=reservation.billed_key_id,
            created_at=now,
            client_ip=reservation.client_ip,
            client_user_agent=reservation.client_user_agent,
        )
        # Counters go to the key that paid: the Extra Usage pay-as-you-go key when there is one.
        ApiKey.objects.filter(pk=reservation.billed_key_id or reservation.api_key_id).update(
            used_flows=F("used_flows") + flows,
            used_usd=F("used_usd") + cost,
            request_count=F("request_count") + 1,
        )
    api_key_touch(key=reservation.api_key, now=now)
    if reservation.billed_key is not None:
        api_key_touch(key=reservation.billed_key, now=now)
    return UsageResult.from_event(event, replayed=False)


def _key_limit_amount(*, reservation: Reservation, cost: Decimal, flows: Decimal) -> Decimal:
    """A settled request in its key's limit unit: USD for pay-as-you-go keys, Flows for subscription keys
    (an Extra Usage request of a subscription key counts its cost in Flows too)."""
    if reservation.api_key.kind == ApiKeyKind.PAYG:
        return cost
    if reservation.decision == Decision.SUBSCRIPTION:
        return flows
    return min(MAX_REQUEST_FLOWS, usd_to_flows(cost, effective_usd_per_flow(account=reservation.account)))


def _usage_fast(
    *, request_id: str, input_tokens: int, output_tokens: int, cost_usd: Decimal | None, now: datetime
) -> UsageResult | None:
    """Settle a plain subscription reservation in one statement (fastpath.py), or None: full path.

    The Flows are computed here for the Flow rates this process expects (every (multiplier, abusive)
    pair among the accounts it has seen, and the plain one); the statement settles with the one that
    matches the account. When none matches, or cost_usd is to come from list prices (the model is only
    known from the reservation), the statement has changed nothing and returned the reservation's
    facts: the exact Flows are computed from them and the statement is sent once more.
    None means nothing was changed; replays, releases, unknown ids, pay-as-you-go and Extra Usage and
    windows that rolled since authorize all take the full path.
    """
    cost = round_usage(cost_usd) if cost_usd is not None else None
    candidates = _flows_candidates(cost, hotcache.rate_kinds()) if cost is not None else []
    outcome = fastpath.usage_settle(
        request_id=request_id,
        candidates=candidates,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=cost if cost is not None else ZERO,  # no candidate: nothing is written
        now=now,
    )
    if outcome.flows is None:
        facts = outcome.facts
        if facts is None or not facts.plain_subscription:
            return None
        if cost is None:
            model = hotcache.model_facts_by_id(facts.model_id)
            if not model.has_list_prices:
                return None
            cost = usage_cost_from_list_prices(
                model=model, input_tokens=input_tokens, output_tokens=output_tokens
            )
        exact = _flows_candidates(
            cost, [(facts.flow_value_multiplier, facts.account_status == AccountStatus.ABUSIVE)]
        )
        if not exact:  # more Flows than one request may use: the full path refuses it
            return None
        outcome = fastpath.usage_settle(
            request_id=request_id,
            candidates=exact,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost,
            now=now,
        )
        if outcome.flows is None:
            return None
    quota_usage_check(
        account_id=outcome.facts.account_id,
        windows=[
            WindowUsage(
                kind=window.kind,
                started_at=window.started_at,
                resets_at=window.resets_at,
                used_before=window.used_flows - outcome.flows,
                used_after=window.used_flows,
                maximum=window.maximum,
            )
            for window in outcome.windows
        ],
    )
    if outcome.key_spend is not None:
        spend = outcome.key_spend
        key_spend_alert(
            key=spend.key, start=spend.start, used_before=spend.used_before, used_after=spend.used_after
        )
    _touch(key_id=outcome.facts.api_key_id, now=now)
    return UsageResult(
        request_id=request_id,
        billed_to=Decision.SUBSCRIPTION,
        extra_usage=False,
        flows=outcome.flows,
        cost_usd=cost,
        replayed=False,
    )


def _flows_candidates(cost: Decimal, kinds) -> list[fastpath.FlowsCandidate]:
    """The Flows of `cost` for each (multiplier, abusive) pair, as effective_usd_per_flow rates them."""
    base = hotcache.base_rate()
    candidates = []
    for multiplier, abusive in kinds:
        account = SimpleNamespace(
            status=AccountStatus.ABUSIVE if abusive else AccountStatus.HEALTHY,
            flow_value_multiplier=multiplier,
        )
        flows = usd_to_flows(cost, round_rate(base * flow_value_multiplier(account=account)))
        if flows <= MAX_REQUEST_FLOWS:
            candidates.append(fastpath.FlowsCandidate(multiplier=multiplier, abusive=abusive, flows=flows))
    return candidates


def _touch(*, key_id: int, now: datetime) -> None:
    """api_key_touch at most once per TOUCH_INTERVAL_SECONDS per key and process (no Redis round trip
    on most calls; api_key_touch itself writes at most once a minute per key across processes)."""
    clock = time.monotonic()
    touched = hotcache.touched()
    if clock - touched.get(key_id, float("-inf")) < TOUCH_INTERVAL_SECONDS:
        return
    touched[key_id] = clock
    api_key_touch(key=SimpleNamespace(pk=key_id, last_used_at=None), now=now)


def _settle_windows(*, reservation: Reservation, flows: Decimal, now: datetime) -> None:
    """Move the reservation's Flows from reserved to used in each window it was reserved in.

    A window that rolled since authorize had its reserved amount zeroed by the roll; the actual Flows
    then go to the archive of the window they were reserved in, so every window's used total stays
    the exact sum of its settled events.
    """
    account = reservation.account
    subscription = _subscription(account)
    windows = windows_lock(account=account, subscription=subscription, now=now)
    settled = []
    usages = []
    for kind in WINDOW_KINDS:
        window = windows[kind]
        start = reservation.window_start(kind)
        if window.started_at == start:
            window.reserved_flows = max(ZERO, window.reserved_flows - reservation.reserved_flows)
            usages.append(
                WindowUsage(
                    kind=kind,
                    started_at=window.started_at,
                    resets_at=window.resets_at,
                    used_before=window.used_flows,
                    used_after=window.used_flows + flows,
                    maximum=window_max(plan=subscription.plan, kind=kind),
                )
            )
            window.used_flows += flows
            settled.append(window)
        elif start is not None:
            ended = start + DURATIONS[kind] if kind in DURATIONS else now
            archive = archive_finished(account=account, kind=kind, finished=(start, ended, ZERO), now=now)
            QuotaWindowArchive.objects.filter(pk=archive.pk).update(used_flows=F("used_flows") + flows)
    if settled:
        windows_save(settled, ["reserved_flows", "used_flows"])
        quota_usage_check(account_id=account.pk, windows=usages)


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
        key_spend_release(
            key_id=reservation.api_key_id,
            start=reservation.key_limit_start,
            reserved=reservation.key_limit_reserved,
        )
        if reservation.decision == Decision.SUBSCRIPTION:
            windows = windows_lock(account=account, subscription=_subscription(account), now=now)
            for kind in WINDOW_KINDS:
                window = windows[kind]
                if window.started_at == reservation.window_start(kind):
                    window.reserved_flows = max(ZERO, window.reserved_flows - reservation.reserved_flows)
                    window.save(update_fields=["reserved_flows"])
        else:
            wallet_services.wallet_release(
                account=account, reserved_usd=reservation.reserved_usd, request_id=request_id
            )
        reservation.status = ReservationStatus.RELEASED
        reservation.settled_at = now
        reservation.save(update_fields=["status", "settled_at"])
    return ReleaseResult(request_id=request_id, status=ReservationStatus.RELEASED, released=True)
