"""The refund formula (SPEC §10) on worked cases, exact to the cent."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.core.exceptions import ApplicationError
from apps.refunds.models import Refund, RefundAllocation
from apps.refunds.selectors import refund_preview
from apps.refunds.services import refund_part_update, refund_request, refund_submit
from apps.usage.models import Decision
from tests.refunds.factories import FLOWS_3_20, FLOWS_20_00, paid_cycle, upgrade_payment, use_flows

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def figures(preview):
    return (
        preview.total_paid,
        preview.usage_usd,
        preview.already_refunded,
        preview.refundable,
        preview.fee,
        preview.amount,
    )


def test_pro_20_with_3_20_usage_refunds_15_96(user):
    payment = paid_cycle(user, "pro", paid_at=T0)
    use_flows(user, FLOWS_3_20, at=T0 + timedelta(hours=1))
    # Not counted: usage before the cycle, pay-as-you-go and Extra Usage requests.
    use_flows(user, Decimal("40"), at=T0 - timedelta(seconds=1))
    use_flows(user, Decimal("40"), at=T0 + timedelta(hours=1), billed_to=Decision.PAYG)
    use_flows(user, Decimal("40"), at=T0 + timedelta(hours=1), billed_to=Decision.PAYG, extra_usage=True)

    preview = refund_preview(account=user, now=T0 + timedelta(hours=10, minutes=40))

    assert preview.eligible is True
    assert preview.reason == ""
    assert preview.payment == payment
    assert preview.plan.tier == "pro"
    assert preview.usage_flows == Decimal("126.720000")
    assert figures(preview) == (
        Decimal("20.00"),
        Decimal("3.20"),
        Decimal("0.00"),
        Decimal("16.80"),
        Decimal("0.84"),
        Decimal("15.96"),
    )
    assert (preview.hours_left, preview.minutes_left) == (13, 20)


def test_upgrade_charge_counts_in_total_paid_and_refund_is_split_main_payment_first(user):
    main = paid_cycle(user, "pro", paid_at=T0)
    upgrade = upgrade_payment(user, to="max", amount="40.00", paid_at=T0 + timedelta(hours=2))
    use_flows(user, FLOWS_3_20, at=T0 + timedelta(hours=3))
    now = T0 + timedelta(hours=4)

    preview = refund_preview(account=user, now=now)
    assert preview.plan.tier == "max"
    assert preview.payment == main
    assert figures(preview) == (
        Decimal("60.00"),
        Decimal("3.20"),
        Decimal("0.00"),
        Decimal("56.80"),
        Decimal("2.84"),
        Decimal("53.96"),
    )

    refund = refund_request(account=user, now=now)
    parts = {a.payment_id: a.amount_usd for a in RefundAllocation.objects.filter(refund=refund)}
    assert parts == {main.pk: Decimal("20.00"), upgrade.pk: Decimal("33.96")}
    assert refund.idempotency_key == f"refund:{refund.pk}"
    assert sorted(RefundAllocation.objects.values_list("idempotency_key", flat=True)) == sorted(
        [f"refund:{refund.pk}:{main.pk}", f"refund:{refund.pk}:{upgrade.pk}"]
    )


def test_second_refund_after_a_partly_returned_one_deducts_what_was_already_refunded(user):
    main = paid_cycle(user, "pro", paid_at=T0)
    upgrade = upgrade_payment(user, to="max", amount="40.00", paid_at=T0 + timedelta(hours=2))
    use_flows(user, FLOWS_3_20, at=T0 + timedelta(hours=3))
    now = T0 + timedelta(hours=4)
    first = refund_request(account=user, now=now)
    refund_submit(refund_id=first.pk)  # the provider accepts both parts (sandbox: pending)
    main_part = RefundAllocation.objects.get(refund=first, payment=main)
    upgrade_part = RefundAllocation.objects.get(refund=first, payment=upgrade)
    # The main payment's $20.00 comes back; the upgrade's part fails: the refund fails, plan unchanged.
    refund_part_update(external_id=main_part.external_id, provider_status="succeeded")
    refund_part_update(external_id=upgrade_part.external_id, provider_status="failed")
    first.refresh_from_db()
    main.refresh_from_db()
    assert first.status == "failed"
    assert main.refunded_usd == Decimal("20.00")

    preview = refund_preview(account=user, now=now + timedelta(minutes=5))
    assert preview.eligible is True
    assert figures(preview) == (
        Decimal("60.00"),
        Decimal("3.20"),
        Decimal("20.00"),
        Decimal("36.80"),
        Decimal("1.84"),
        Decimal("34.96"),
    )
    second = refund_request(account=user, now=now + timedelta(minutes=5))
    parts = {a.payment_id: a.amount_usd for a in RefundAllocation.objects.filter(refund=second)}
    assert parts == {upgrade.pk: Decimal("34.96")}  # the main payment has nothing left to return
    assert (second.already_refunded_usd, second.amount_usd) == (Decimal("20.00"), Decimal("34.96"))


@pytest.mark.parametrize("flows", [FLOWS_20_00, FLOWS_20_00 + 1])
def test_usage_equal_to_or_above_the_payment_is_not_refundable(user, flows):
    paid_cycle(user, "pro", paid_at=T0)
    use_flows(user, flows, at=T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)

    preview = refund_preview(account=user, now=now)
    assert preview.eligible is False
    assert preview.code == "usage"
    assert preview.reason == "Usage already exceeds what was paid"
    assert preview.amount == Decimal("0.00")
    with pytest.raises(ApplicationError) as refused:
        refund_request(account=user, now=now)
    assert refused.value.code == "refund_usage"
    assert Refund.objects.count() == 0


def test_the_24_hour_window_boundary(user):
    paid_cycle(user, "pro", paid_at=T0)
    inside = refund_preview(account=user, now=T0 + timedelta(hours=24) - timedelta(seconds=1))
    outside = refund_preview(account=user, now=T0 + timedelta(hours=24) + timedelta(seconds=1))

    assert (inside.eligible, inside.time_left) == (True, timedelta(seconds=1))
    assert (outside.eligible, outside.code, outside.reason) == (
        False,
        "window_closed",
        "Refund window closed",
    )
    with pytest.raises(ApplicationError):
        refund_request(account=user, now=T0 + timedelta(hours=24) + timedelta(seconds=1))
    assert Refund.objects.count() == 0
    assert refund_request(
        account=user, now=T0 + timedelta(hours=24) - timedelta(seconds=1)
    ).amount_usd == Decimal("19.00")


def test_free_plan_has_nothing_to_refund(user):
    preview = refund_preview(account=user)
    assert (preview.eligible, preview.code, preview.reason) == (
        False,
        "free",
        "Free plan has nothing to refund",
    )
    with pytest.raises(ApplicationError):
        refund_request(account=user)
    assert Refund.objects.count() == 0


def test_submit_recomputes_with_the_usage_made_since_the_preview(user):
    paid_cycle(user, "pro", paid_at=T0)
    use_flows(user, FLOWS_3_20, at=T0 + timedelta(hours=1))
    preview = refund_preview(account=user, now=T0 + timedelta(hours=2))
    assert preview.amount == Decimal("15.96")

    use_flows(user, FLOWS_3_20, at=T0 + timedelta(hours=2, minutes=1))
    refund = refund_request(account=user, now=T0 + timedelta(hours=2, minutes=2))

    assert (
        refund.total_paid_usd,
        refund.usage_usd,
        refund.already_refunded_usd,
        refund.refundable_usd,
        refund.fee_usd,
        refund.amount_usd,
        refund.status,
    ) == (
        Decimal("20.00"),
        Decimal("6.40"),
        Decimal("0.00"),
        Decimal("13.60"),
        Decimal("0.68"),
        Decimal("12.92"),
        "processing",
    )


def test_a_refund_in_progress_blocks_another(user):
    paid_cycle(user, "pro", paid_at=T0)
    now = T0 + timedelta(hours=1)
    refund_request(account=user, now=now)

    preview = refund_preview(account=user, now=now)
    assert (preview.eligible, preview.code, preview.reason) == (
        False,
        "in_progress",
        "A refund is already in progress",
    )
    assert preview.already_refunded == Decimal("19.00")
    with pytest.raises(ApplicationError):
        refund_request(account=user, now=now)
    assert Refund.objects.count() == 1
