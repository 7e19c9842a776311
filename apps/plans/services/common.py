"""Shared by the subscription services: the Free subscription every account has, row locks, audit."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.dates import add_months
from apps.core.services import audit_record
from apps.plans.models import Plan, Subscription
from apps.plans.selectors import plan_free

MAX_CATCH_UP_PERIODS = 36  # a renewal run never loops more than this for one subscription
JOB_BATCH = 500  # subscriptions handled per periodic run; the next run picks up the rest

ONE_MICROSECOND = timedelta(microseconds=1)
# A re-submitted subscribe form reuses an open checkout this recent.
CHECKOUT_REUSE_WINDOW = timedelta(hours=1)


@transaction.atomic
def subscription_create_free(*, account) -> Subscription:
    """A new account's one subscription: Free, monthly from now (the `account_created` hook handler).

    The Free plan is seeded by a data migration (plans 0004), so it exists before any account does.
    """
    start = timezone.now()
    return Subscription.objects.create(
        account=account,
        plan=plan_free(),
        current_period_start=start,
        current_period_end=add_months(start, 1),
    )


def subscription_lock(subscription_id: int) -> Subscription:
    """Lock the subscription row, then read it with its plans and account.

    Two statements on purpose: PostgreSQL re-checks a row that a concurrent transaction updated against
    the *old* joined rows, so `SELECT … JOIN plan … FOR UPDATE OF self` finds no row at all once a
    concurrent change of plan (a refund dropping to Free, an upgrade) commits. The lock takes no join; the
    read after it sees the committed row.
    """
    Subscription.objects.select_for_update().filter(pk=subscription_id).values_list("pk", flat=True).get()
    return Subscription.objects.select_related("plan", "scheduled_plan", "account").get(pk=subscription_id)


def subscription_for_account(account) -> Subscription:
    return Subscription.objects.get(account=account)


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
