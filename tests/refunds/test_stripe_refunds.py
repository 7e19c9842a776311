"""Stripe path against the local fake: refunds created with keys from the refund pk, webhooks settle."""

from decimal import Decimal

import pytest

from apps.billing.models import Payment
from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.refunds.models import Refund, RefundAllocation
from apps.refunds.services import refund_request
from tests.helpers import outcome, run_concurrently


def refund_posts(fake):
    return [r for r in fake.posts("/v1/refunds") if r.path == "/v1/refunds"]


def refund_events(user):
    events = AuditEvent.objects.filter(account=user, event_type__startswith="refund.")
    return list(events.order_by("id").values_list("event_type", flat=True))


@pytest.mark.django_db
def test_refund_webhook_settles_it_and_a_replay_changes_nothing(
    user, fake_stripe, stripe_subscribe, deliver, django_capture_on_commit_callbacks
):
    payment, subscription_id = stripe_subscribe(user, "pro")
    fake_stripe.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)

    refund.refresh_from_db()
    assert (refund.status, refund.amount_usd) == ("processing", Decimal("19.00"))
    [post] = refund_posts(fake_stripe)
    assert post.idempotency_key == f"refund:{refund.pk}:{payment.pk}"
    assert post.params["amount"] == "1900"
    assert post.params["payment_intent"] == fake_stripe.invoice_payments[payment.metadata["invoice"]]
    allocation = RefundAllocation.objects.get(refund=refund)
    assert allocation.external_id.startswith("re_test_")

    # Stripe settles the refund; the webhook names it, the handler re-reads it.
    remote = fake_stripe.settle_refund(allocation.external_id, "succeeded")
    event = fake_stripe.event("refund.updated", remote)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event).status_code == 200

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert Payment.objects.get(pk=payment.pk).refunded_usd == Decimal("19.00")
    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.external_id) == ("free", "")
    cancels = [r for r in fake_stripe.requests if r.method == "DELETE"]
    assert [(r.path, r.params.get("prorate")) for r in cancels] == [
        (f"/v1/subscriptions/{subscription_id}", "false")
    ]
    assert refund_events(user) == ["refund.requested", "refund.succeeded"]

    # Replays: the same event again, and a `charge.refunded` for the same money.
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(event).status_code == 200
        deliver(fake_stripe.event("charge.refunded", fake_stripe.charge_of(allocation.external_id)))
    assert Payment.objects.get(pk=payment.pk).refunded_usd == Decimal("19.00")
    assert refund_events(user) == ["refund.requested", "refund.succeeded"]
    assert AuditEvent.objects.filter(account=user, event_type="subscription.dropped_to_free").count() == 1
    assert len([r for r in fake_stripe.requests if r.method == "DELETE"]) == 1


@pytest.mark.django_db
def test_failed_stripe_refund_leaves_the_plan(
    user, fake_stripe, stripe_subscribe, deliver, django_capture_on_commit_callbacks
):
    payment, subscription_id = stripe_subscribe(user, "pro")
    fake_stripe.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)
    allocation = RefundAllocation.objects.get(refund=refund)

    remote = fake_stripe.settle_refund(allocation.external_id, "failed")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(fake_stripe.event("refund.failed", remote)).status_code == 200

    refund.refresh_from_db()
    assert refund.status == "failed"
    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.external_id) == ("pro", subscription_id)
    assert Payment.objects.get(pk=payment.pk).refunded_usd == Decimal("0.00")
    assert not [r for r in fake_stripe.requests if r.method == "DELETE"]
    assert refund_events(user) == ["refund.requested", "refund.failed"]


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_make_one_refund_and_one_provider_call(user, fake_stripe, stripe_subscribe):
    stripe_subscribe(user, "pro")
    fake_stripe.refund_status = "pending"
    results = run_concurrently(lambda _i: refund_request(account=user).pk, 2)
    outcomes = [outcome(result) for result in results]

    refund = Refund.objects.get()
    assert sorted(outcomes, key=str) == sorted([refund.pk, "refund_in_progress"], key=str)
    assert len(refund_posts(fake_stripe)) == 1
    assert RefundAllocation.objects.get().external_id != ""
