from datetime import UTC, datetime

from apps.billing.services import payment_method_save
from apps.plans.models import Plan, Subscription, SubscriptionStatus


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def put_on_plan(account, tier: str, *, start: datetime, end: datetime, **fields) -> Subscription:
    """Test setup: place an account's subscription on a plan and period (no payment involved)."""
    Subscription.objects.filter(account=account).update(
        plan=Plan.objects.get(tier=tier),
        current_period_start=start,
        current_period_end=end,
        status=fields.pop("status", SubscriptionStatus.ACTIVE),
        **fields,
    )
    return Subscription.objects.select_related("plan", "scheduled_plan").get(account=account)


def save_card(account, last4: str = "4242"):
    return payment_method_save(
        account=account, provider="sandbox", external_id=f"sbx_pm_{last4}_{account.pk}", last4=last4
    )
