"""Period end: renewal (sandbox), scheduled changes, failed renewals and grace, provider sync, drop to Free."""

import copy
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.services import account_insider_revoke
from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.services import payment_create, payment_fail, payment_succeed
from apps.core.dates import add_months
from apps.core.services import audit_record
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.selectors import plan_free
from apps.plans.services.common import (
    JOB_BATCH,
    MAX_CATCH_UP_PERIODS,
    period_description,
    subscription_audit,
    subscription_lock,
)

logger = logging.getLogger(__name__)

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
    subscription_audit(
        subscription,
        "dropped_to_free",
        actor=actor,
        from_plan=from_plan.tier,
        reason=reason,
        period_start=start.isoformat(),
    )
    # Insider status holds only while the paid subscription is continuous (SPEC §1, §14): every lapse
    # (refund, grace expiry, cancellation at period end, provider cancel) comes through here.
    account_insider_revoke(
        account_id=subscription.account_id, reason=f"subscription_dropped_to_free:{reason}"
    )


def subscription_drop_to_free(
    *, subscription: Subscription, reason: str, actor=None, now=None
) -> Subscription:
    """Move to Free now (provider canceled it, grace ran out). Idempotent: on Free already, nothing changes."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = subscription_lock(subscription.pk)
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
            subscription = subscription_lock(subscription_id)
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
                subscription_audit(
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
                description=period_description(next_plan, start, end),
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
        try:
            if subscription.external_id:
                get_provider().subscription_cancel_now(subscription=subscription)
            subscription_drop_to_free(subscription=subscription, reason="grace_expired", now=now)
        except Exception:  # one provider error must not stall the rows after it; the next run retries it
            logger.exception("Grace expiry of subscription %s failed", subscription.pk)
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
        subscription = subscription_lock(subscription.pk)
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


def subscription_close_for_account(*, account, now: datetime) -> dict:
    """`account_closing` handler: the deleted account goes to Free at once and never renews.

    Immediately, not at period end: nobody can use the plan once the account is deleted (keys deleted,
    sign-in impossible), so keeping it would only leave a renewal to charge. Unused time is not refunded
    here (a refund within its window is requested before deleting, SPEC §4 / refunds). The provider's
    subscription is canceled after commit, without proration (a provider error is logged; the provider's
    own webhook or staff finish it).
    """
    subscription = Subscription.objects.get(account=account)
    ended = copy.copy(subscription)  # keeps the provider id that dropping to Free clears
    subscription_drop_to_free(subscription=subscription, reason="account_deleted", actor=account, now=now)
    if ended.external_id:
        transaction.on_commit(lambda: _provider_cancel_after_deletion(ended))
    return {"plan": ended.plan.tier, "subscription_status": ended.status}


def _provider_cancel_after_deletion(ended: Subscription) -> None:
    try:
        get_provider().subscription_cancel_now(subscription=ended)
    except Exception:  # the deletion stands; staff see the log
        logger.exception("Canceling provider subscription %s of a deleted account failed", ended.external_id)
