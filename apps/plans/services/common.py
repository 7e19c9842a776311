"""Shared by the subscription services: the Free subscription every account has, row locks, audit."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.dates import add_months
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.plans.models import Plan, Subscription
from apps.plans.selectors import plan_free

MAX_CATCH_UP_PERIODS = 36  # a renewal run never loops more than this for one subscription
JOB_BATCH = 500  # subscriptions handled per periodic run; the next run picks up the rest

ONE_MICROSECOND = timedelta(microseconds=1)
# A re-submitted subscribe form reuses an open checkout this recent.
CHECKOUT_REUSE_WINDOW = timedelta(hours=1)


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


def subscription_lock(subscription_id: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "scheduled_plan", "account")
        .get(pk=subscription_id)
    )


def subscription_for_account(account) -> Subscription:
    subscription = subscription_ensure(account=account)
    if subscription is None:
        raise ApplicationError(_("No plans are set up yet."), code="no_plans")
    return subscription


def subscription_audit(subscription: Subscription, event: str, *, actor=None, **details) -> None:
    audit_record(
        event_type=f"subscription.{event}",
        account=subscription.account,
        actor=actor,
        subject=subscription,
        details={key: (str(value) if value is not None else None) for key, value in details.items()},
    )


def period_description(plan: Plan, start: datetime, end: datetime) -> str:
    return f"{plan.name} · {start:%Y-%m-%d} – {end:%Y-%m-%d}"
