"""Subscribe (Free -> paid), upgrade at once with proration, schedule a downgrade or cancellation."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import payment_create, payment_fail, payment_succeed
from apps.core.exceptions import ApplicationError
from apps.core.money import prorate
from apps.plans import hooks
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.services.common import (
    CHECKOUT_REUSE_WINDOW,
    ONE_MICROSECOND,
    subscription_audit,
    subscription_for_account,
    subscription_lock,
)

# --- Subscribe (Free -> paid) -----------------------------------------------------------------------


def subscription_start_checkout(*, account, plan: Plan, return_url: str, cancel_url: str) -> str:
    """Open the checkout for the full price of `plan`; returns the URL to send the customer to.

    A double-submitted form finds the open payment for the same plan and returns the same checkout.
    An open checkout for another plan (a second tab) is expired at the provider first, so two paid
    subscriptions cannot happen that way; one the provider can no longer expire (already paid) is left
    to its webhook, which refunds a second paid subscription in full (billing's reconciliation).
    """
    if plan.is_free:
        raise ApplicationError(_("Choose a paid plan to subscribe to."), code="plan_free")
    subscription = subscription_for_account(account)
    with transaction.atomic():
        subscription = subscription_lock(subscription.pk)
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
    _expire_other_checkouts(account=account, keep=payment)
    session = get_provider(payment.provider).subscription_start_checkout(payment=payment, plan=plan)
    if session.external_id and session.external_id != payment.external_id:
        Payment.objects.filter(pk=payment.pk).update(external_id=session.external_id)
    return session.url


def _expire_other_checkouts(*, account, keep: Payment) -> None:
    """Close the account's other open subscription checkouts at the provider (no row lock held)."""
    others = Payment.objects.filter(
        account=account, purpose=PaymentPurpose.SUBSCRIPTION, status=PaymentStatus.PENDING
    ).exclude(pk=keep.pk)
    for other in others.exclude(external_id=""):
        if get_provider(other.provider).checkout_expire(payment=other):
            payment_fail(
                payment_id=other.pk,
                message=_("Replaced by a checkout for another plan."),
                status=PaymentStatus.CANCELED,
            )


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
    hooks.upgrade_check.send(subscription=subscription)  # e.g. refunds: a refund in progress refuses
    if new_plan.price_usd <= subscription.plan.price_usd:
        raise ApplicationError(
            _("%(plan)s is not an upgrade from your current plan; schedule it as a downgrade instead.")
            % {"plan": new_plan.name},
            code="not_an_upgrade",
        )


def subscription_upgrade(*, account, new_plan: Plan, now=None) -> Subscription:
    """Charge Δ now and switch plans at once; a double-submitted confirmation charges once."""
    now = now or timezone.now()
    subscription = subscription_for_account(account)
    with transaction.atomic():
        subscription = subscription_lock(subscription.pk)
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
    if result.status == "succeeded":  # the amount Stripe invoiced, not our preview, is what was paid
        payment_succeed(
            payment_id=payment.pk,
            external_id=result.external_id,
            charged_usd=result.amount_usd,
            metadata=result.metadata,
        )
    elif result.status == "failed":
        payment_fail(payment_id=payment.pk, message=result.failure_message)
        raise ApplicationError(
            _("The upgrade payment failed: %(reason)s Nothing changed.")
            % {"reason": result.failure_message or _("Your card was declined.")},
            code="payment_failed",
        )
    elif result.external_id:
        Payment.objects.filter(pk=payment.pk).update(
            external_id=result.external_id, metadata={**payment.metadata, **result.metadata}
        )
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
    subscription = subscription_for_account(account)
    subscription_schedule_check(subscription=subscription, plan=plan)
    if subscription.scheduled_plan_id == plan.pk:
        return subscription
    get_provider().subscription_schedule_change(subscription=subscription, plan=plan)
    with transaction.atomic():
        subscription = subscription_lock(subscription.pk)
        subscription_schedule_check(subscription=subscription, plan=plan)
        if subscription.scheduled_plan_id == plan.pk:
            return subscription
        previous = subscription.scheduled_plan
        subscription.scheduled_plan = plan
        subscription.save(update_fields=["scheduled_plan", "updated_at"])
        subscription_audit(
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
    subscription = subscription_for_account(account)
    if subscription.scheduled_plan_id is None:
        raise ApplicationError(_("No plan change is scheduled."), code="nothing_scheduled")
    get_provider().subscription_schedule_change(subscription=subscription, plan=None)
    with transaction.atomic():
        subscription = subscription_lock(subscription.pk)
        if subscription.scheduled_plan_id is None:
            return subscription
        undone = subscription.scheduled_plan
        subscription.scheduled_plan = None
        subscription.save(update_fields=["scheduled_plan", "updated_at"])
        subscription_audit(
            subscription, "change_unscheduled", actor=account, plan=subscription.plan.tier, undone=undone.tier
        )
    return subscription
