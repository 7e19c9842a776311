"""Sandbox settlement: the Celery task settles after commit; success drops to Free at once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from apps.billing.models import Payment
from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.refunds.models import Refund
from apps.refunds.services import refund_cancel, refund_request, refund_settle
from apps.usage.selectors import quota_windows_for_account
from apps.usage.services import meter_authorize
from tests.accounts.factories import StaffFactory
from tests.api_keys.factories import make_key
from tests.refunds.factories import FLOWS_3_20, paid_cycle, use_flows

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro_cycle(user):
    paid_at = timezone.now() - timedelta(hours=1)
    payment = paid_cycle(user, "pro", paid_at=paid_at)
    use_flows(user, FLOWS_3_20, at=paid_at + timedelta(minutes=5))
    return payment


def audit_types(user):
    events = AuditEvent.objects.filter(account=user).exclude(event_type__startswith="api_key.")
    return list(events.order_by("id").values_list("event_type", flat=True))


def test_success_drops_to_free_at_once_with_one_refund_event_and_an_email(
    user, pro_cycle, django_capture_on_commit_callbacks
):
    user.preferred_language = "zh-hans"
    user.save(update_fields=["preferred_language"])
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)

    refund.refresh_from_db()
    assert (refund.status, refund.amount_usd) == ("succeeded", Decimal("15.96"))
    assert refund.settled_at is not None
    pro_cycle.refresh_from_db()
    assert pro_cycle.refunded_usd == Decimal("15.96")
    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.status, subscription.external_id) == ("free", "active", "")
    assert audit_types(user) == ["refund.requested", "refund.succeeded", "subscription.dropped_to_free"]
    assert AuditEvent.objects.get(event_type="subscription.dropped_to_free").details["reason"] == "refunded"
    # One notice per status change (processing, then succeeded), in the account's preferred language.
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == [user.email]
    assert "$15.96" in mail.outbox[1].subject
    assert "退款" in mail.outbox[1].subject
    assert "免费" in mail.outbox[1].body  # the plan is now Free

    # Settling again (a late task, a replayed webhook) changes nothing.
    refund_settle(refund_id=refund.pk, status="succeeded")
    refund_settle(refund_id=refund.pk, status="failed")
    pro_cycle.refresh_from_db()
    assert pro_cycle.refunded_usd == Decimal("15.96")
    assert Refund.objects.get().status == "succeeded"
    assert len(audit_types(user)) == 3
    assert len(mail.outbox) == 2


def test_keys_keep_working_under_free_limits_after_the_refund(
    user, pro_cycle, django_capture_on_commit_callbacks
):
    _key, secret = make_key(account=user, name="after refund")
    with django_capture_on_commit_callbacks(execute=True):
        refund_request(account=user)

    result = meter_authorize(
        request_id="after-refund-1",
        api_key=secret,
        model="deepseek/deepseek-chat",
        estimated_cost_usd=Decimal("0.01"),
    )
    assert result.decision == "subscription"
    windows = quota_windows_for_account(account=user)
    assert {kind: view.max_flows for kind, view in windows.items()} == {
        "five_hour": Decimal("5"),
        "weekly": Decimal("50.4"),
        "monthly": Decimal("216"),
    }


def test_failure_leaves_the_plan_and_payments_unchanged(
    user, pro_cycle, settings, django_capture_on_commit_callbacks
):
    settings.FLOWPORT_SANDBOX_REFUND_OUTCOME = "failed"
    subscription_before = Subscription.objects.values().get(account=user)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)

    refund.refresh_from_db()
    assert refund.status == "failed"
    assert Subscription.objects.values().get(account=user) == subscription_before
    assert Payment.objects.get(pk=pro_cycle.pk).refunded_usd == Decimal("0.00")
    assert audit_types(user) == ["refund.requested", "refund.failed"]
    assert [message.subject for message in mail.outbox] == [
        "Flowport: Refund of $15.96: Processing",
        "Flowport: Refund of $15.96: Failed",
    ]


def test_staff_cancel_a_processing_refund(user, pro_cycle):
    staff = StaffFactory()
    refund = refund_request(account=user)  # on_commit not run: still processing
    refund_cancel(refund_id=refund.pk, actor=staff, reason="customer asked")

    refund.refresh_from_db()
    assert (refund.status, refund.failure_message) == ("canceled", "customer asked")
    assert Subscription.objects.get(account=user).plan.tier == "pro"
    event = AuditEvent.objects.get(event_type="refund.canceled")
    assert (event.actor, event.account) == (staff, user)
    with pytest.raises(Exception, match="Only a processing refund"):
        refund_cancel(refund_id=refund.pk, actor=staff)


def test_no_upgrade_while_a_refund_is_processing(user, pro_cycle):
    from apps.plans.models import Plan
    from apps.plans.services import subscription_upgrade

    refund_request(account=user)
    with pytest.raises(Exception, match="A refund of this billing cycle is in progress"):
        subscription_upgrade(account=user, new_plan=Plan.objects.get(tier="max"))
    assert Payment.objects.filter(account=user).count() == 1
    assert Subscription.objects.get(account=user).plan.tier == "pro"


def test_catch_up_job_settles_a_refund_whose_submission_never_ran(user, pro_cycle):
    from apps.refunds.services import refund_sync_processing

    refund = refund_request(account=user)  # the after-commit submission is lost (worker crash)
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    assert refund_sync_processing() == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert refund.allocations.get().external_id.startswith("sbx_re_")
    assert Subscription.objects.get(account=user).plan.tier == "free"
    assert refund_sync_processing() == 0


def test_provider_success_after_a_staff_cancel_is_flagged_not_applied(user, pro_cycle):
    from apps.refunds.services import refund_part_update, refund_submit

    refund = refund_request(account=user)
    refund_submit(refund_id=refund.pk)  # accepted by the provider (sandbox: pending)
    refund_cancel(refund_id=refund.pk, actor=StaffFactory())
    part = refund.allocations.get()

    refund_part_update(external_id=part.external_id, provider_status="succeeded")
    refund_part_update(external_id=part.external_id, provider_status="succeeded")

    assert Refund.objects.get(pk=refund.pk).status == "canceled"
    assert Payment.objects.get(pk=pro_cycle.pk).refunded_usd == Decimal("0.00")
    assert Subscription.objects.get(account=user).plan.tier == "pro"
    assert AuditEvent.objects.filter(event_type="refund.provider_mismatch").count() == 2
