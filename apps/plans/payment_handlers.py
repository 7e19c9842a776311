"""What a paid (or failed) subscription payment does. Registered in PlansConfig.ready().

`payment_succeed` / `payment_fail` call these once, inside their transaction, so the subscription
change and the payment status can never disagree. Each writes exactly one `subscription.*` event.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.billing.hooks import ProviderSubscriptionConflict
from apps.billing.models import Payment, PaymentPurpose
from apps.billing.services import register_payment_handlers
from apps.core.dates import add_months
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.services.common import subscription_audit, subscription_lock


def _meta_datetime(payment: Payment, key: str) -> datetime | None:
    value = payment.metadata.get(key)
    return parse_datetime(value) if value else None


def _subscription_of(payment: Payment) -> Subscription:
    return subscription_lock(
        Subscription.objects.values_list("pk", flat=True).get(account_id=payment.account_id)
    )


def on_subscription_paid(payment: Payment) -> None:
    """Free -> paid (or a past-due plan paid again): the plan and a fresh monthly period."""
    subscription = _subscription_of(payment)
    new_external_id = payment.metadata.get("subscription_external_id", "")
    if (
        not subscription.plan.is_free
        and subscription.status == SubscriptionStatus.ACTIVE
        and subscription.external_id
        and new_external_id
        and subscription.external_id != new_external_id
    ):  # a second paid checkout (two tabs) completed at the same time as the first: never two live ones
        raise ProviderSubscriptionConflict(subscription.external_id)
    plan = Plan.objects.get(tier=payment.metadata["plan"])
    start = _meta_datetime(payment, "period_start") or payment.paid_at or timezone.now()
    end = _meta_datetime(payment, "period_end") or add_months(start, 1)
    from_plan = subscription.plan
    subscription.plan = plan
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.scheduled_plan = None
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.external_id = new_external_id
    subscription.save()
    subscription_audit(
        subscription,
        "subscribed",
        from_plan=from_plan.tier,
        plan=plan.tier,
        payment=payment.public_id,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
    )


def on_upgrade_paid(payment: Payment) -> None:
    """The prorated difference is paid: switch at once, same period (the renewal date does not move)."""
    subscription = _subscription_of(payment)
    plan = Plan.objects.get(tier=payment.metadata["plan"])
    if subscription.plan_id == plan.pk:
        return
    from_plan = subscription.plan
    subscription.plan = plan
    subscription.scheduled_plan = None  # an upgrade supersedes a scheduled downgrade or cancellation
    subscription.save(update_fields=["plan", "scheduled_plan", "updated_at"])
    subscription_audit(
        subscription, "upgraded", from_plan=from_plan.tier, plan=plan.tier, payment=payment.public_id
    )


def on_renewal_paid(payment: Payment) -> None:
    """Next period paid: advance it, apply the plan paid for (the scheduled one), clear past due."""
    subscription = _subscription_of(payment)
    tier = payment.metadata.get("plan")
    plan = Plan.objects.get(tier=tier) if tier else (subscription.scheduled_plan or subscription.plan)
    start = _meta_datetime(payment, "period_start") or subscription.current_period_end
    end = _meta_datetime(payment, "period_end") or add_months(start, 1)
    if end <= subscription.current_period_end and subscription.status == SubscriptionStatus.ACTIVE:
        return  # an older period reported late: the subscription is already past it
    from_plan = subscription.plan
    subscription.plan = plan
    subscription.scheduled_plan = None
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.save()
    subscription_audit(
        subscription,
        "renewed",
        from_plan=from_plan.tier,
        plan=plan.tier,
        payment=payment.public_id,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
    )


def on_renewal_failed(payment: Payment) -> None:
    """The renewal charge failed: past due; after the grace period a beat task drops it to Free."""
    subscription = _subscription_of(payment)
    if subscription.status == SubscriptionStatus.PAST_DUE:
        return
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.past_due_since = _meta_datetime(payment, "attempted_at") or timezone.now()
    subscription.save(update_fields=["status", "past_due_since", "updated_at"])
    subscription_audit(
        subscription,
        "past_due",
        plan=subscription.plan.tier,
        payment=payment.public_id,
        reason=payment.failure_message,
    )


def register() -> None:
    register_payment_handlers(PaymentPurpose.SUBSCRIPTION, on_success=on_subscription_paid)
    register_payment_handlers(PaymentPurpose.UPGRADE, on_success=on_upgrade_paid)
    register_payment_handlers(
        PaymentPurpose.RENEWAL, on_success=on_renewal_paid, on_failure=on_renewal_failed
    )
