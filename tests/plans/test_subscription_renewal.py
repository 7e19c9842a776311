"""Renewal, scheduled changes at period end, failed renewals and grace, provider sync (controllable `now`)."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.core.dates import add_months
from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.services import (
    subscription_drop_to_free,
    subscription_expire_grace,
    subscription_renew_due,
    subscription_schedule_change,
    subscription_sync_from_provider,
    subscription_upgrade,
)
from tests.plans.factories import at, put_on_plan, save_card

pytestmark = pytest.mark.django_db

START, END = at(2026, 11, 1), at(2026, 12, 1)


def events(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(account=user, event_type__startswith="subscription.")
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def renewals(user):
    return list(
        Payment.objects.filter(account=user, purpose=PaymentPurpose.RENEWAL)
        .order_by("id")
        .values_list("amount_usd", "status", "idempotency_key")
    )


def test_renewal_charges_the_plan_price_once_and_advances_the_period(user):
    save_card(user)
    subscription = put_on_plan(user, "max", start=START, end=END)
    assert subscription_renew_due(now=END - timedelta(seconds=1)) == 0  # not due yet
    subscription_renew_due(now=END)
    subscription_renew_due(now=END + timedelta(minutes=1))  # twice: no second charge
    assert renewals(user) == [
        (Decimal("100.00"), PaymentStatus.SUCCEEDED, f"renewal:{subscription.pk}:{END.isoformat()}")
    ]
    subscription.refresh_from_db()
    assert (subscription.plan.tier, subscription.status) == ("max", SubscriptionStatus.ACTIVE)
    assert (subscription.current_period_start, subscription.current_period_end) == (END, at(2027, 1, 1))
    assert events(user) == ["subscription.renewed"]


def test_late_run_charges_once_per_missed_period(user):
    save_card(user)
    subscription = put_on_plan(user, "pro", start=START, end=END)
    late = at(2027, 2, 3)  # three periods ended: Dec 1, Jan 1, Feb 1
    subscription_renew_due(now=late)
    subscription_renew_due(now=late)
    assert [(amount, key) for amount, _status, key in renewals(user)] == [
        (Decimal("20.00"), f"renewal:{subscription.pk}:{at(2026, 12, 1).isoformat()}"),
        (Decimal("20.00"), f"renewal:{subscription.pk}:{at(2027, 1, 1).isoformat()}"),
        (Decimal("20.00"), f"renewal:{subscription.pk}:{at(2027, 2, 1).isoformat()}"),
    ]
    subscription.refresh_from_db()
    assert (subscription.current_period_start, subscription.current_period_end) == (
        at(2027, 2, 1),
        at(2027, 3, 1),
    )
    assert events(user) == ["subscription.renewed"] * 3


def test_scheduled_downgrade_is_applied_at_renewal_at_the_new_price(user):
    save_card(user)
    put_on_plan(user, "max", start=START, end=END)
    subscription_schedule_change(account=user, plan=Plan.objects.get(tier="pro"))
    subscription_renew_due(now=END + timedelta(hours=2))
    subscription = Subscription.objects.get(account=user)
    assert subscription.plan.tier == "pro"
    assert subscription.scheduled_plan is None
    assert (subscription.current_period_start, subscription.current_period_end) == (END, add_months(END, 1))
    assert [amount for amount, _s, _k in renewals(user)] == [Decimal("20.00")]
    assert events(user) == ["subscription.change_scheduled", "subscription.renewed"]


def test_scheduled_cancellation_drops_to_free_at_period_end_without_charge(user):
    save_card(user)
    put_on_plan(user, "pro", start=START, end=END)
    subscription_schedule_change(account=user, plan=Plan.objects.get(tier="free"))
    subscription_renew_due(now=END)
    subscription_renew_due(now=END)
    subscription = Subscription.objects.get(account=user)
    assert (subscription.plan.tier, subscription.scheduled_plan) == ("free", None)
    assert (subscription.current_period_start, subscription.current_period_end) == (END, add_months(END, 1))
    assert Payment.objects.filter(account=user).count() == 0
    assert events(user) == ["subscription.change_scheduled", "subscription.dropped_to_free"]
    assert AuditEvent.objects.get(event_type="subscription.dropped_to_free").details["reason"] == (
        "canceled_at_period_end"
    )


def test_free_rolls_its_period_for_free_even_when_late(user):
    subscription = put_on_plan(user, "free", start=START, end=END)
    subscription_renew_due(now=at(2027, 1, 15))
    subscription_renew_due(now=at(2027, 1, 15))
    subscription.refresh_from_db()
    assert (subscription.current_period_start, subscription.current_period_end) == (
        at(2027, 1, 1),
        at(2027, 2, 1),
    )
    assert Payment.objects.count() == 0
    assert events(user) == ["subscription.period_rolled"]


def test_failed_renewal_goes_past_due_then_free_after_grace(user_client, user):
    save_card(user, last4="0002")  # declined
    subscription = put_on_plan(user, "pro", start=START, end=END)
    failed_at = END + timedelta(minutes=5)
    subscription_renew_due(now=failed_at)
    subscription_renew_due(now=failed_at + timedelta(hours=1))  # no retry charge while past due
    assert renewals(user) == [
        (Decimal("20.00"), PaymentStatus.FAILED, f"renewal:{subscription.pk}:{END.isoformat()}")
    ]
    subscription.refresh_from_db()
    assert (subscription.status, subscription.past_due_since) == (SubscriptionStatus.PAST_DUE, failed_at)
    assert subscription.plan.tier == "pro"

    deadline = failed_at + timedelta(days=settings.FLOWPORT_RENEWAL_GRACE_DAYS)
    html = user_client.get("/console/subscription/").content.decode()
    assert 'data-testid="past-due-banner"' in html
    assert f"Pay for Pro again before {deadline:%Y-%m-%d %H:%M} UTC" in html

    assert subscription_expire_grace(now=deadline - timedelta(seconds=1)) == 0
    assert Subscription.objects.get(account=user).status == SubscriptionStatus.PAST_DUE
    assert subscription_expire_grace(now=deadline) == 1
    subscription_expire_grace(now=deadline + timedelta(hours=1))
    subscription.refresh_from_db()
    assert (subscription.plan.tier, subscription.status, subscription.past_due_since) == (
        "free",
        SubscriptionStatus.ACTIVE,
        None,
    )
    assert subscription.current_period_start == deadline
    assert events(user) == ["subscription.past_due", "subscription.dropped_to_free"]
    assert "past-due-banner" not in user_client.get("/console/subscription/").content.decode()


def test_renewal_without_a_saved_card_fails_to_past_due(user):
    subscription = put_on_plan(user, "pro", start=START, end=END)
    subscription_renew_due(now=END)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE
    assert Payment.objects.get(account=user).failure_message == "No saved card to charge."


def test_past_due_account_can_pay_again_through_checkout(user_client, user):
    save_card(user, last4="0002")
    put_on_plan(user, "pro", start=START, end=END)
    subscription_renew_due(now=END)
    response = user_client.post("/console/subscription/subscribe/", {"plan": "pro"})
    assert response.status_code == 302
    user_client.post(response.url, {"action": "pay", "card_number": "4242424242424242"})
    subscription = Subscription.objects.get(account=user)
    assert (subscription.plan.tier, subscription.status, subscription.past_due_since) == (
        "pro",
        SubscriptionStatus.ACTIVE,
        None,
    )
    assert events(user) == ["subscription.past_due", "subscription.subscribed"]


def test_provider_managed_paid_subscriptions_are_left_to_the_provider(user):
    save_card(user)
    put_on_plan(user, "pro", start=START, end=END, external_id="sub_123")
    subscription_renew_due(now=END + timedelta(days=1))
    assert Payment.objects.count() == 0
    assert events(user) == []


def test_sync_from_provider_is_idempotent(user):
    subscription = put_on_plan(user, "pro", start=START, end=END, external_id="sub_123")
    kwargs = {
        "plan_tier": "max",
        "period_start": END,
        "period_end": at(2027, 1, 1),
        "status": "active",
        "cancel_at_period_end": True,
    }
    subscription_sync_from_provider(subscription=subscription, **kwargs)
    subscription_sync_from_provider(subscription=subscription, **kwargs)
    subscription.refresh_from_db()
    assert (subscription.plan.tier, subscription.scheduled_plan.tier) == ("max", "free")
    assert subscription.current_period_end == at(2027, 1, 1)
    assert events(user) == ["subscription.synced"]
    subscription_sync_from_provider(subscription=subscription, **(kwargs | {"cancel_at_period_end": False}))
    subscription.refresh_from_db()
    assert subscription.scheduled_plan is None
    subscription_sync_from_provider(subscription=subscription, **(kwargs | {"status": "past_due"}))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAST_DUE and subscription.past_due_since is not None
    subscription_sync_from_provider(subscription=subscription, **(kwargs | {"status": "canceled"}))
    subscription.refresh_from_db()
    assert (subscription.plan.tier, subscription.external_id) == ("free", "")
    assert events(user) == ["subscription.synced"] * 3 + ["subscription.dropped_to_free"]


def test_drop_to_free_is_idempotent(user):
    subscription = put_on_plan(user, "ultra", start=START, end=END)
    subscription_drop_to_free(subscription=subscription, reason="provider_canceled", now=at(2026, 11, 20))
    subscription_drop_to_free(subscription=subscription, reason="provider_canceled", now=at(2026, 11, 21))
    subscription.refresh_from_db()
    assert subscription.plan.tier == "free"
    assert (subscription.current_period_start, subscription.current_period_end) == (
        at(2026, 11, 20),
        at(2026, 12, 20),
    )
    assert events(user) == ["subscription.dropped_to_free"]


def test_beat_schedule_names_registered_tasks():
    from config.celery_app import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_upgrade_in_the_last_second_switches_without_charging_the_card(user):
    save_card(user, last4="0002")  # a declined card: any real charge would fail
    put_on_plan(user, "pro", start=START, end=END)
    subscription = subscription_upgrade(
        account=user, new_plan=Plan.objects.get(tier="max"), now=END - timedelta(seconds=1)
    )
    assert subscription.plan.tier == "max"
    assert subscription.current_period_end == END
    payment = Payment.objects.get(account=user)
    assert (payment.purpose, payment.amount_usd, payment.status) == (
        PaymentPurpose.UPGRADE,
        Decimal("0.00"),
        PaymentStatus.SUCCEEDED,
    )
    assert events(user) == ["subscription.upgraded"]


def test_upgrade_supersedes_a_scheduled_cancellation(user):
    save_card(user)
    put_on_plan(user, "pro", start=START, end=END)
    subscription_schedule_change(account=user, plan=Plan.objects.get(tier="free"))
    subscription = subscription_upgrade(
        account=user, new_plan=Plan.objects.get(tier="ultra"), now=at(2026, 11, 16)
    )
    assert (subscription.plan.tier, subscription.scheduled_plan) == ("ultra", None)
    assert Payment.objects.get(account=user).amount_usd == Decimal("90.00")  # 180 × 15/30
    subscription_renew_due(now=END)
    assert [amount for amount, _s, _k in renewals(user)] == [Decimal("200.00")]


def test_run_scheduler_runs_the_subscription_jobs_without_a_broker(user):
    now = timezone.now()
    save_card(user)
    put_on_plan(user, "pro", start=now - timedelta(days=40), end=now - timedelta(days=10))
    call_command("run_scheduler", once=True, stdout=io.StringIO())
    assert [(amount, status) for amount, status, _k in renewals(user)] == [
        (Decimal("20.00"), PaymentStatus.SUCCEEDED)
    ]
    assert Subscription.objects.get(account=user).current_period_end > now
