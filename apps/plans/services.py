from django.db import transaction
from django.utils import timezone

from apps.core.dates import add_months
from apps.plans.models import Subscription
from apps.plans.selectors import plan_free


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
