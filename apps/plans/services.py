"""Subscription lifecycle (SPEC §4): subscribe, upgrade with proration, scheduled downgrade, renewal, grace.

Rules shared by every service here:
- the subscription row is locked (`select_for_update`) for every change, and each state transition
  writes exactly one `subscription.*` AuditEvent in the same transaction;
- no provider call happens while the row is locked: money moves through `Payment` rows with
  deterministic idempotency keys, and the payment handlers (`apps.plans.payment_handlers`, run by
  `payment_succeed` / `payment_fail` exactly once) apply the paid-for change.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import payment_create, payment_fail, payment_succeed
from apps.core.dates import add_months
from apps.core.exceptions import ApplicationError
from apps.core.money import prorate
from apps.core.services import audit_record
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.selectors import plan_free

logger = logging.getLogger(__name__)

MAX_CATCH_UP_PERIODS = 36  # a renewal run never loops more than this for one subscription
JOB_BATCH = 500  # subscriptions handled per periodic run; the next run picks up the rest

ONE_MICROSECOND = timedelta(microseconds=1)
CHECKOUT_REUSE_WINDOW = timedelta(
    hours=1
)  # a re-submitted subscribe form reuses an open checkout this recent


def subscription_ensure(*, account) -> Subscription:
    """Give an account its Free subscription if it has none (every account always has exactly one)."""
    existing = Subscription.objects.filter(account=account).first()
    if existing is not None:
        return existing
    free = plan_free()
    if free is None:  # catalog not seeded yet (e.g. `createsuperuser` before `seed_catalog`)
        return None
    start = timezone.now()
    with transaction.atomic():
        subscription, _ = Subscription.objects.get_or_create(
            account=account,
            defaults={
                "plan": free,
                "current_period_start": start,
                "current_period_end": add_months(start, 1),
            },
        )
    return subscription


def _locked(subscription_id: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "scheduled_plan", "account")
        .get(pk=subscription_id)
    )


def _for_account(account) -> Subscription:
    subscription = subscription_ensure(account=account)
    if subscription is None:
        raise ApplicationError(_("No plans are set up yet."), code="no_plans")
    return subscription


def _audit(subscription: Subscription, event: str, *, actor=None, **details) -> None:
    audit_record(
        event_type=f"subscription.{event}",
        account=subscription.account,
        actor=actor,
        subject=subscription,
        details={key: (str(value) if value is not None else None) for key, value in details.items()},
    )


def _describe_period(plan: Plan, start: datetime, end: datetime) -> str:
    return f"{plan.name} · {start:%Y-%m-%d} – {end:%Y-%m-%d}"


# --- Subscribe (Free -> paid) -----------------------------------------------------------------------


def subscription_start_checkout(*, account, plan: Plan, return_url: str, cancel_url: str) -> str:
    """Open the checkout for the full price of `plan`; returns the URL to send the customer to.

    A double-submitted form finds the open payment for the same plan and returns the same checkout
    (open checkouts for other plans stay open: a provider's session may still be paid, and must then
    be fulfilled, so it is never canceled behind the provider's back).
    """
    if plan.is_free:
        raise ApplicationError(_("Choose a paid plan to subscribe to."), code="plan_free")
    subscription = _for_account(account)
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        if not subscription.plan.is_free and subscription.status == SubscriptionStatus.ACTIVE:
            raise ApplicationError(
                _("You already have a paid plan: upgrade or downgrade it instead."), code="already_subscribed"
            )
        payment = (
            Payment.objects.filter(
                account=account,
                purpose=PaymentPurpose.SUBSCRIPTION,
                status=PaymentStatus.PENDING,
                metadata__plan=plan.tier,
                amount_usd=plan.price_usd,
                created_at__gte=timezone.now() - CHECKOUT_REUSE_WINDOW,
            )
            .order_by("-id")
            .first()
        )
        if payment is None:
            payment = payment_create(
                account=account,
                purpose=PaymentPurpose.SUBSCRIPTION,
                amount_usd=plan.price_usd,
                description=plan.name,
                idempotency_key=f"subscribe:{subscription.pk}:{plan.tier}:{timezone.now().isoformat()}",
                metadata={"plan": plan.tier, "save_method": True},
                return_url=return_url,
                cancel_url=cancel_url,
            )
    session = get_provider(payment.provider).subscription_start_checkout(payment=payment, plan=plan)
    if session.external_id and session.external_id != payment.external_id:
        Payment.objects.filter(pk=payment.pk).update(external_id=session.external_id)
    return session.url


# --- Upgrade (immediately, prorated) ------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradePreview:
    current_plan: Plan
    new_plan: Plan
    amount_usd: Decimal  # Δ, whole cents
    period_start: datetime
    renewal_at: datetime  # unchanged by the upgrade
    remaining_seconds: Decimal
    total_seconds: Decimal


def subscription_upgrade_preview(*, subscription: Subscription, new_plan: Plan, now=None) -> UpgradePreview:
    """Δ = max(0, (P_new − P_old) × T_rem / T), to the cent; the renewal date does not move."""
    now = now or timezone.now()
    start, end = subscription.current_period_start, subscription.current_period_end
    total = (end - start) // ONE_MICROSECOND
    remaining = min(max((end - now) // ONE_MICROSECOND, 0), total)
    difference = new_plan.price_usd - subscription.plan.price_usd
    amount = prorate(difference, remaining, total) if difference > 0 else Decimal("0.00")
    return UpgradePreview(
        current_plan=subscription.plan,
        new_plan=new_plan,
        amount_usd=amount,
        period_start=start,
        renewal_at=end,
        remaining_seconds=Decimal(remaining) / Decimal(1_000_000),
        total_seconds=Decimal(total) / Decimal(1_000_000),
    )


def subscription_upgrade_check(*, subscription: Subscription, new_plan: Plan) -> None:
    """Refuse (ApplicationError) an upgrade that is not one: same plan, from Free, past due, not dearer."""
    if new_plan.pk == subscription.plan_id:
        raise ApplicationError(
            _("You are already on the %(plan)s plan.") % {"plan": new_plan.name}, code="same_plan"
        )
    if subscription.plan.is_free:
        raise ApplicationError(_("Subscribe to a paid plan first."), code="not_subscribed")
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise ApplicationError(
            _("Your subscription is past due: pay for your plan again before changing it."), code="past_due"
        )
    if new_plan.price_usd <= subscription.plan.price_usd:
        raise ApplicationError(
            _("%(plan)s is not an upgrade from your current plan; schedule it as a downgrade instead.")
            % {"plan": new_plan.name},
            code="not_an_upgrade",
        )


def subscription_upgrade(*, account, new_plan: Plan, now=None) -> Subscription:
    """Charge Δ now and switch plans at once; a double-submitted confirmation charges once."""
    now = now or timezone.now()
    subscription = _for_account(account)
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        base_key = (
            f"upgrade:{subscription.pk}:{subscription.current_period_start.isoformat()}:{new_plan.tier}"
        )
        attempts = list(
            Payment.objects.filter(
                Q(idempotency_key=base_key) | Q(idempotency_key__startswith=f"{base_key}:retry")
            ).order_by("-id")
        )
        latest = attempts[0] if attempts else None
        if (
            latest is not None
            and latest.status == PaymentStatus.SUCCEEDED
            and subscription.plan_id == new_plan.pk
        ):
            return subscription  # the same confirmation again: already paid and switched
        if latest is not None and latest.status == PaymentStatus.PENDING:
            payment = latest  # in flight (double submit): settle that one, never a second charge
        else:
            subscription_upgrade_check(subscription=subscription, new_plan=new_plan)
            preview = subscription_upgrade_preview(subscription=subscription, new_plan=new_plan, now=now)
            payment = payment_create(
                account=account,
                purpose=PaymentPurpose.UPGRADE,
                amount_usd=preview.amount_usd,
                description=f"{subscription.plan.name} → {new_plan.name}",
                idempotency_key=base_key if not attempts else f"{base_key}:retry{len(attempts)}",
                metadata={
                    "plan": new_plan.tier,
                    "from_plan": subscription.plan.tier,
                    "period_start": subscription.current_period_start.isoformat(),
                    "period_end": subscription.current_period_end.isoformat(),
                },
            )
    result = get_provider(payment.provider).subscription_upgrade(
        subscription=subscription, new_plan=new_plan, payment=payment
    )
    if result.status == "succeeded":
        payment_succeed(payment_id=payment.pk, external_id=result.external_id)
    elif result.status == "failed":
        payment_fail(payment_id=payment.pk, message=result.failure_message)
        raise ApplicationError(
            _("The upgrade payment failed: %(reason)s Nothing changed.")
            % {"reason": result.failure_message or _("Your card was declined.")},
            code="payment_failed",
        )
    elif result.external_id:
        Payment.objects.filter(pk=payment.pk).update(external_id=result.external_id)
    subscription.refresh_from_db()
    return subscription


# --- Downgrade / cancel at period end --------------------------------------------------------------------


def subscription_schedule_check(*, subscription: Subscription, plan: Plan) -> None:
    """Refuse (ApplicationError) a change that cannot wait for the period end: same plan, dearer, past due."""
    if plan.pk == subscription.plan_id:
        raise ApplicationError(
            _("You are already on the %(plan)s plan.") % {"plan": plan.name}, code="same_plan"
        )
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise ApplicationError(
            _("Your subscription is past due: pay for your plan again before changing it."), code="past_due"
        )
    if plan.price_usd > subscription.plan.price_usd:
        raise ApplicationError(
            _("%(plan)s costs more than your current plan: upgrade to it instead.") % {"plan": plan.name},
            code="not_a_downgrade",
        )


def subscription_schedule_change(*, account, plan: Plan) -> Subscription:
    """Schedule a downgrade (or, with the Free plan, a cancellation) for the end of the current period."""
    subscription = _for_account(account)
    subscription_schedule_check(subscription=subscription, plan=plan)
    if subscription.scheduled_plan_id == plan.pk:
        return subscription
    get_provider().subscription_schedule_change(subscription=subscription, plan=plan)
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        subscription_schedule_check(subscription=subscription, plan=plan)
        if subscription.scheduled_plan_id == plan.pk:
            return subscription
        previous = subscription.scheduled_plan
        subscription.scheduled_plan = plan
        subscription.save(update_fields=["scheduled_plan", "updated_at"])
        _audit(
            subscription,
            "change_scheduled",
            actor=account,
            plan=subscription.plan.tier,
            scheduled_plan=plan.tier,
            replaces=previous.tier if previous else None,
            effective_at=subscription.current_period_end.isoformat(),
        )
    return subscription


def subscription_undo_scheduled_change(*, account) -> Subscription:
    """Keep the current plan after all: cancel the change scheduled for the period end."""
    subscription = _for_account(account)
    if subscription.scheduled_plan_id is None:
        raise ApplicationError(_("No plan change is scheduled."), code="nothing_scheduled")
    get_provider().subscription_schedule_change(subscription=subscription, plan=None)
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        if subscription.scheduled_plan_id is None:
            return subscription
        undone = subscription.scheduled_plan
        subscription.scheduled_plan = None
        subscription.save(update_fields=["scheduled_plan", "updated_at"])
        _audit(
            subscription, "change_unscheduled", actor=account, plan=subscription.plan.tier, undone=undone.tier
        )
    return subscription


# --- Renewal, grace, drop to Free ----------------------------------------------------------------------


def _apply_free(subscription: Subscription, *, start: datetime, reason: str, actor=None) -> None:
    """On a locked row: move to the Free plan with a fresh period from `start`; one audit event."""
    free = plan_free()
    from_plan = subscription.plan
    subscription.plan = free
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.scheduled_plan = None
    subscription.past_due_since = None
    subscription.external_id = ""
    subscription.current_period_start = start
    subscription.current_period_end = add_months(start, 1)
    subscription.save()
    _audit(
        subscription,
        "dropped_to_free",
        actor=actor,
        from_plan=from_plan.tier,
        reason=reason,
        period_start=start.isoformat(),
    )


def subscription_drop_to_free(
    *, subscription: Subscription, reason: str, actor=None, now=None
) -> Subscription:
    """Move to Free now (provider canceled it, grace ran out). Idempotent: on Free already, nothing changes."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        on_free = subscription.plan.is_free and subscription.status == SubscriptionStatus.ACTIVE
        if on_free and subscription.scheduled_plan_id is None and not subscription.external_id:
            return subscription
        _apply_free(subscription, start=now, reason=reason, actor=actor)
    return subscription


def _renew_one(*, subscription_id: int, now: datetime) -> None:
    """Renew one subscription for every period that has ended by `now` (once per period)."""
    provider = None
    for _attempt in range(MAX_CATCH_UP_PERIODS):
        with transaction.atomic():
            subscription = _locked(subscription_id)
            if subscription.status != SubscriptionStatus.ACTIVE or subscription.current_period_end > now:
                return
            next_plan = subscription.scheduled_plan or subscription.plan
            if next_plan.is_free and not subscription.plan.is_free:
                _apply_free(
                    subscription, start=subscription.current_period_end, reason="canceled_at_period_end"
                )
                continue
            if next_plan.is_free:  # Free renews for free: roll straight to the period containing `now`
                start, end, rolled = subscription.current_period_start, subscription.current_period_end, 0
                while end <= now and rolled < 12 * MAX_CATCH_UP_PERIODS:
                    start, end, rolled = end, add_months(end, 1), rolled + 1
                subscription.current_period_start, subscription.current_period_end = start, end
                subscription.save(update_fields=["current_period_start", "current_period_end", "updated_at"])
                _audit(
                    subscription,
                    "period_rolled",
                    plan=next_plan.tier,
                    periods=rolled,
                    period_end=end.isoformat(),
                )
                return
            if subscription.external_id:
                return  # the provider renews its own subscriptions and reports them by webhook
            start = subscription.current_period_end
            end = add_months(start, 1)
            payment = payment_create(
                account=subscription.account,
                purpose=PaymentPurpose.RENEWAL,
                amount_usd=next_plan.price_usd,
                description=_describe_period(next_plan, start, end),
                idempotency_key=f"renewal:{subscription.pk}:{start.isoformat()}",
                metadata={
                    "plan": next_plan.tier,
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "attempted_at": now.isoformat(),
                },
            )
        if payment.status != PaymentStatus.PENDING:
            return  # settled before: its handler already moved the subscription (or marked it past due)
        provider = provider or get_provider(payment.provider)
        result = provider.subscription_renew(subscription=subscription, payment=payment)
        if result.status == "succeeded":
            payment_succeed(payment_id=payment.pk, external_id=result.external_id)
        elif result.status == "failed":
            payment_fail(payment_id=payment.pk, message=result.failure_message)
            return
        else:
            if result.external_id:
                Payment.objects.filter(pk=payment.pk).update(external_id=result.external_id)
            return


def subscription_renew_due(*, now=None) -> int:
    """Renew every active subscription whose period has ended (sandbox; Stripe renews by itself).

    Free rolls its period for free; a paid plan charges the next plan's price (the scheduled one if
    any); a scheduled Free drops to Free. Safe to run late (each missed period is charged once) or
    twice (idempotency key `renewal:<subscription>:<period start>`).
    """
    now = now or timezone.now()
    due = list(
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
        .order_by("current_period_end", "pk")
        .values_list("pk", flat=True)[:JOB_BATCH]
    )
    for subscription_id in due:
        try:
            _renew_one(subscription_id=subscription_id, now=now)
        except Exception:  # one broken row must not stop the others; the next run retries it
            logger.exception("Renewal of subscription %s failed", subscription_id)
    return len(due)


def subscription_expire_grace(*, now=None) -> int:
    """Drop to Free every subscription past due for longer than FLOWPORT_RENEWAL_GRACE_DAYS."""
    now = now or timezone.now()
    deadline = now - timedelta(days=settings.FLOWPORT_RENEWAL_GRACE_DAYS)
    expired = list(
        Subscription.objects.filter(
            status=SubscriptionStatus.PAST_DUE, past_due_since__lte=deadline
        ).order_by("past_due_since", "pk")[:JOB_BATCH]
    )
    for subscription in expired:
        if subscription.external_id:
            get_provider().subscription_cancel_now(subscription=subscription)
        subscription_drop_to_free(subscription=subscription, reason="grace_expired", now=now)
    return len(expired)


def subscription_grace_deadline(*, subscription: Subscription) -> datetime | None:
    if subscription.status != SubscriptionStatus.PAST_DUE or subscription.past_due_since is None:
        return None
    return subscription.past_due_since + timedelta(days=settings.FLOWPORT_RENEWAL_GRACE_DAYS)


# --- Provider sync (Stripe webhooks) -------------------------------------------------------------------

PROVIDER_ACTIVE = {"active", "trialing"}
PROVIDER_PAST_DUE = {"past_due", "unpaid", "incomplete"}
PROVIDER_ENDED = {"canceled", "incomplete_expired"}


def subscription_sync_from_provider(
    *,
    subscription: Subscription,
    plan_tier: str | None,
    period_start: datetime,
    period_end: datetime,
    status: str,
    cancel_at_period_end: bool,
) -> Subscription:
    """Make our row match the provider's subscription. Idempotent: no change, no audit event."""
    if status in PROVIDER_ENDED:
        return subscription_drop_to_free(subscription=subscription, reason="provider_canceled")
    plan = Plan.objects.get(tier=plan_tier) if plan_tier else None
    free = plan_free()
    with transaction.atomic():
        subscription = _locked(subscription.pk)
        before = {
            "plan": subscription.plan.tier,
            "period_start": subscription.current_period_start.isoformat(),
            "period_end": subscription.current_period_end.isoformat(),
            "status": subscription.status,
            "scheduled_plan": subscription.scheduled_plan.tier if subscription.scheduled_plan else None,
        }
        if plan is not None:
            subscription.plan = plan
        subscription.current_period_start = period_start
        subscription.current_period_end = period_end
        if status in PROVIDER_PAST_DUE:
            if subscription.status != SubscriptionStatus.PAST_DUE:
                subscription.past_due_since = timezone.now()
            subscription.status = SubscriptionStatus.PAST_DUE
        elif status in PROVIDER_ACTIVE:
            subscription.status = SubscriptionStatus.ACTIVE
            subscription.past_due_since = None
        if cancel_at_period_end:
            subscription.scheduled_plan = free
        elif subscription.scheduled_plan_id == free.pk:
            subscription.scheduled_plan = None
        if subscription.scheduled_plan_id == subscription.plan_id:
            subscription.scheduled_plan = None
        after = {
            "plan": subscription.plan.tier,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "status": subscription.status,
            "scheduled_plan": subscription.scheduled_plan.tier if subscription.scheduled_plan else None,
        }
        changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        if not changed:
            return subscription
        subscription.save()
        audit_record(
            event_type="subscription.synced",
            account=subscription.account,
            subject=subscription,
            details={"provider_status": status, "changed": changed},
        )
    return subscription
