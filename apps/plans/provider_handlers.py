"""What a provider's subscription report means for our subscription. Registered in PlansConfig.ready().

Billing re-reads the provider's subscription and calls these through `apps.billing.hooks`, inside the
webhook's transaction; plans decides what changes (idempotent: a replayed report changes nothing).
"""

from apps.billing import hooks
from apps.plans.models import Subscription, SubscriptionStatus
from apps.plans.services import subscription_drop_to_free, subscription_sync_from_provider


def _local(external_id: str) -> Subscription | None:
    return Subscription.objects.filter(external_id=external_id).select_related("account", "plan").first()


def subscription_owner(*, external_id: str) -> hooks.SubscriptionOwner | None:
    subscription = _local(external_id)
    if subscription is None:
        return None
    return hooks.SubscriptionOwner(account=subscription.account, plan_tier=subscription.plan.tier)


def subscription_current(*, account) -> hooks.CurrentSubscription | None:
    """The provider subscription this account pays for now (None on Free or without one)."""
    subscription = Subscription.objects.filter(account=account).select_related("plan").first()
    if subscription is None or subscription.plan.is_free or not subscription.external_id:
        return None
    return hooks.CurrentSubscription(
        external_id=subscription.external_id, active=subscription.status == SubscriptionStatus.ACTIVE
    )


def on_provider_subscription_changed(*, subscription: hooks.ProviderSubscription) -> Subscription | None:
    local = _local(subscription.external_id)
    if local is None:
        return None
    return subscription_sync_from_provider(
        subscription=local,
        plan_tier=subscription.plan_tier,
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        status=subscription.status,
        cancel_at_period_end=subscription.cancel_at_period_end,
    )


def on_provider_subscription_ended(*, external_id: str) -> Subscription | None:
    local = _local(external_id)
    if local is None:
        return None
    return subscription_drop_to_free(subscription=local, reason="stripe_subscription_canceled")


def register() -> None:
    hooks.provider_subscription_owner.register(subscription_owner)
    hooks.provider_subscription_current.register(subscription_current)
    hooks.provider_subscription_changed.register(on_provider_subscription_changed)
    hooks.provider_subscription_ended.register(on_provider_subscription_ended)
