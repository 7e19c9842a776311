"""Upgrade proration: Δ = max(0, (P_new − P_old) × T_rem / T), whole cents half-up; renewal date unchanged."""

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.plans.models import Plan
from apps.plans.services import subscription_upgrade_preview
from tests.plans.factories import at, put_on_plan

pytestmark = pytest.mark.django_db

START, END = at(2026, 11, 1), at(2026, 12, 1)  # a 30-day cycle


@pytest.fixture
def on_pro(user):
    return put_on_plan(user, "pro", start=START, end=END)


def preview(subscription, tier, now):
    return subscription_upgrade_preview(
        subscription=subscription, new_plan=Plan.objects.get(tier=tier), now=now
    )


def test_spec_example_pro_to_max_with_15_of_30_days_left_is_40_dollars(on_pro):
    result = preview(on_pro, "max", at(2026, 11, 16))
    assert result.amount_usd == Decimal("40.00")
    assert result.renewal_at == END
    assert result.total_seconds == Decimal(30 * 86400)
    assert result.remaining_seconds == Decimal(15 * 86400)


def test_upgrade_at_the_first_second_charges_the_full_difference(on_pro):
    assert preview(on_pro, "max", START).amount_usd == Decimal("80.00")
    assert preview(on_pro, "ultra", START).amount_usd == Decimal("180.00")


def test_upgrade_at_the_last_second_charges_nothing(on_pro):
    # 80 × 1 / 2,592,000 = $0.0000309 -> $0.00
    assert preview(on_pro, "max", at(2026, 11, 30, 23, 59, 59)).amount_usd == Decimal("0.00")


def test_half_a_cent_rounds_up(on_pro):
    # 80 × 1,296,162 / 2,592,000 = 40.005 exactly -> 40.01 (half-up, not banker's 40.00)
    remaining = 1_296_162
    now = END - timedelta(seconds=remaining)
    assert preview(on_pro, "max", now).amount_usd == Decimal("40.01")
    # a second later (1,296,161 s left): 40.0049691... -> 40.00
    assert preview(on_pro, "max", now + timedelta(seconds=1)).amount_usd == Decimal("40.00")


def test_no_charge_when_the_new_plan_is_not_dearer(user):
    on_max = put_on_plan(user, "max", start=START, end=END)
    assert preview(on_max, "pro", at(2026, 11, 16)).amount_usd == Decimal("0.00")
    assert preview(on_max, "max", at(2026, 11, 16)).amount_usd == Decimal("0.00")
    assert preview(on_max, "free", at(2026, 11, 16)).amount_usd == Decimal("0.00")


def test_after_the_period_end_nothing_is_left_to_prorate(on_pro):
    assert preview(on_pro, "max", at(2026, 12, 3)).amount_usd == Decimal("0.00")
