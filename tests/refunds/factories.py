"""Refund test setup: a paid billing cycle (plan + its succeeded payments) and usage in it."""

import itertools
from datetime import datetime
from decimal import Decimal

from apps.billing.models import PaymentPurpose, PaymentStatus
from apps.core.dates import add_months
from apps.plans.models import CatalogModel, Plan
from apps.usage.models import Decision
from tests.billing.factories import PaymentFactory
from tests.plans.factories import put_on_plan
from tests.usage.factories import UsageEventFactory

# At the default rate (1/39.6 USD per Flow): 126.72 Flows = $3.20, 792 Flows = $20.00.
FLOWS_3_20 = Decimal("126.72")
FLOWS_20_00 = Decimal("792")

_ids = itertools.count(1)


def paid_cycle(account, tier: str = "pro", *, paid_at: datetime, amount: str | None = None):
    """`account` subscribed to `tier` at `paid_at`: the plan, its cycle and the SUBSCRIPTION payment."""
    plan = Plan.objects.get(tier=tier)
    put_on_plan(account, tier, start=paid_at, end=add_months(paid_at, 1))
    return PaymentFactory(
        account=account,
        purpose=PaymentPurpose.SUBSCRIPTION,
        description=f"Flowport {plan.name}",
        amount_usd=Decimal(amount) if amount else plan.price_usd,
        status=PaymentStatus.SUCCEEDED,
        paid_at=paid_at,
        metadata={"plan": tier},
    )


def upgrade_payment(account, *, to: str, amount: str, paid_at: datetime):
    """An upgrade charge in the current cycle (the plan switches with it)."""
    from apps.plans.models import Subscription

    Subscription.objects.filter(account=account).update(plan=Plan.objects.get(tier=to))
    return PaymentFactory(
        account=account,
        purpose=PaymentPurpose.UPGRADE,
        description="Upgrade",
        amount_usd=Decimal(amount),
        status=PaymentStatus.SUCCEEDED,
        paid_at=paid_at,
        metadata={"plan": to},
    )


def use_flows(account, flows: Decimal, *, at: datetime, billed_to=Decision.SUBSCRIPTION, extra_usage=False):
    """One settled request of `flows` Flows billed to the subscription (the metering ledger row)."""
    return UsageEventFactory(
        request_id=f"refund-test-{next(_ids)}",
        account=account,
        api_key__name=f"k{next(_ids)}",
        model=CatalogModel.objects.first(),
        flows=flows,
        billed_to=billed_to,
        extra_usage=extra_usage,
        created_at=at,
    )
