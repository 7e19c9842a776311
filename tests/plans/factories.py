from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.plans.models import FlowRate, Plan, Subscription, SubscriptionStatus
from tests.accounts.factories import UserFactory
from tests.billing.factories import PaymentMethodFactory


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan made for a test, ranked above every seeded plan. A seeded tier is looked up, not made:
    `PlanFactory(tier="pro")` is the seeded Pro plan (and so is `SubscriptionFactory(plan__tier="pro")`)."""

    class Meta:
        model = Plan
        django_get_or_create = ("tier",)

    tier = factory.Sequence(lambda n: f"test{n}")
    name = factory.LazyAttribute(lambda plan: plan.tier.title())
    rank = factory.Sequence(lambda n: 10 + n)
    price_usd = Decimal("50")
    quota_5h_flows = Decimal("10")
    weekly_max_flows = Decimal("30")
    monthly_max_flows = Decimal("50")
    rpm = 1000


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """Every account has exactly one subscription (made with the account): this factory moves it.

    `SubscriptionFactory(account=user, plan__tier="pro")` puts `user` on the seeded Pro plan for a cycle
    that started a day ago; without `account` a new account is made. No payment is involved.
    """

    class Meta:
        model = Subscription

    account = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = SubscriptionStatus.ACTIVE
    current_period_start = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    current_period_end = factory.LazyAttribute(lambda sub: sub.current_period_start + timedelta(days=30))

    class Params:
        past_due = factory.Trait(
            status=SubscriptionStatus.PAST_DUE, past_due_since=factory.LazyFunction(timezone.now)
        )

    @classmethod
    def _create(cls, model_class, *args, account, **fields):
        model_class.objects.filter(account=account).update(**fields)
        return model_class.objects.select_related("plan", "scheduled_plan").get(account=account)


class FlowRateFactory(factory.django.DjangoModelFactory):
    """A Flow rate effective from now (the seeded rate is older): $0.01 per Flow unless told."""

    class Meta:
        model = FlowRate

    usd_per_flow = Decimal("0.01")
    effective_from = factory.LazyFunction(timezone.now)


def put_on_plan(
    account, plan: Plan | str, *, start: datetime | None = None, end: datetime | None = None, **fields
):
    """Test setup: place an account's subscription on a plan (a Plan or a seeded tier) and period."""
    if isinstance(plan, str):
        plan = Plan.objects.get(tier=plan)
    if start is not None:
        fields["current_period_start"] = start
    if end is not None:
        fields["current_period_end"] = end
    return SubscriptionFactory(account=account, plan=plan, **fields)


def save_card(account, last4: str = "4242"):
    return PaymentMethodFactory(account=account, last4=last4)
