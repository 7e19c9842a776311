"""Payments behave as real Stripe does (issue 15), against the fake held to stripe-python's definitions."""

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.conf import settings
from django.utils import timezone
from djstripe.settings import djstripe_settings

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.providers import get_provider
from apps.billing.providers.stripe import from_cents
from apps.billing.services import payment_charge_saved_method, payment_create, payment_method_save
from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from apps.plans.services import (
    subscription_expire_grace,
    subscription_schedule_change,
    subscription_upgrade,
)
from apps.refunds.models import Refund, RefundAllocation
from apps.refunds.services import refund_request
from tests.billing import stripe_contract

pytestmark = pytest.mark.django_db


def refund_posts(fake):
    return [r for r in fake.posts("/v1/refunds") if r.path == "/v1/refunds"]


def plan(tier):
    return Plan.objects.get(tier=tier)


# -- the pinned API version ------------------------------------------------------------------------------


def test_stripe_python_dj_stripe_and_the_webhook_endpoint_speak_the_pinned_api_version(fake_stripe):
    from django.core.management import call_command
    from djstripe.models import WebhookEndpoint

    assert settings.STRIPE_API_VERSION == "2026-08-26.dahlia"
    assert stripe.api_version == settings.STRIPE_API_VERSION  # stripe-python's own pin, and the module's
    assert djstripe_settings.STRIPE_API_VERSION == settings.STRIPE_API_VERSION
    assert get_provider().client._requestor._options.stripe_version == settings.STRIPE_API_VERSION
    call_command("stripe_setup")
    assert WebhookEndpoint.objects.get().api_version == settings.STRIPE_API_VERSION


# -- the contract itself can fail --------------------------------------------------------------------------


def test_the_contract_refuses_what_stripe_python_does_not_define():
    assert stripe_contract.check_request(
        "POST", "/v1/refunds", {"payment_intent": "pi_1", "amount": "12.5", "invoice": "in_1"}
    ) == [
        "POST /v1/refunds: amount: '12.5' not int",
        "POST /v1/refunds: unknown parameter invoice",
    ]
    assert stripe_contract.check_object(
        {
            "id": "sub_1",
            "object": "subscription",
            "status": "active",
            "cancel_at_period_end": "no",
            "items": {"object": "list", "data": []},
            "schedule": None,
            "latest_invoice": None,
            "current_period_end": 1,
        }
    ) == [
        "subscription.cancel_at_period_end: expected bool, got 'no'",
        "subscription.current_period_end: not a field of Subscription in this API version",
    ]


def test_fake_refuses_an_idempotency_key_reused_with_other_parameters(user, fake_stripe):
    client = get_provider().client
    customer = get_provider().customer_id(user)
    pm = fake_stripe.payment_method(customer=customer)
    params = {
        "amount": 500,
        "currency": "usd",
        "customer": customer,
        "payment_method": pm["id"],
        "payment_method_types": ["card"],
        "off_session": True,
        "confirm": True,
    }
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k1"})
    assert (
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "k1"})["id"]
        == first["id"]
    )
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 600}, options={"idempotency_key": "k1"})


# -- (1) two subscription checkouts paid -------------------------------------------------------------------


def test_second_paid_subscription_checkout_is_canceled_and_refunded_in_full(
    user, fake_stripe, stripe_subscribe, deliver
):
    first, first_sub = stripe_subscribe(user, "pro", key="tab:1")
    second, second_sub = stripe_subscribe(user, "max", key="tab:2")

    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.external_id) == ("pro", first_sub)
    assert fake_stripe.objects[first_sub]["status"] == "active"
    assert fake_stripe.objects[second_sub]["status"] == "canceled"
    second_invoice = fake_stripe.objects[second_sub]["latest_invoice"]
    [refund] = refund_posts(fake_stripe)
    assert refund.params["payment_intent"] == fake_stripe.invoice_payments[second_invoice]
    assert refund.params["amount"] == "10000"
    second.refresh_from_db()
    assert second.status == PaymentStatus.CANCELED
    assert "canceled and refunded in full" in second.failure_message
    assert second.metadata["duplicate_of"] == first_sub
    assert (
        AuditEvent.objects.filter(account=user, event_type="payment.duplicate_subscription_refunded").count()
        == 1
    )

    # Stripe retries the event: nothing is canceled or refunded twice.
    session_id = second.external_id
    assert (
        deliver(fake_stripe.event("checkout.session.completed", fake_stripe.objects[session_id])).status_code
        == 200
    )
    assert len(refund_posts(fake_stripe)) == 1
    assert first.status == PaymentStatus.SUCCEEDED


def test_paying_again_while_past_due_replaces_the_old_subscription_and_ends_it(
    user, fake_stripe, stripe_subscribe
):
    _first, old_sub = stripe_subscribe(user, "pro", key="first")
    fake_stripe.objects[old_sub]["status"] = "past_due"
    Subscription.objects.filter(account=user).update(
        status=SubscriptionStatus.PAST_DUE, past_due_since=timezone.now()
    )

    second, new_sub = stripe_subscribe(user, "max", key="again")

    assert second.status == PaymentStatus.SUCCEEDED
    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.status, subscription.external_id) == (
        "max",
        "active",
        new_sub,
    )
    assert fake_stripe.objects[old_sub]["status"] == "canceled"  # Stripe stops retrying the old invoice
    assert refund_posts(fake_stripe) == []


def test_opening_a_checkout_for_another_plan_expires_the_open_one(user, fake_stripe, deliver):
    from apps.plans.services import subscription_start_checkout

    subscription_start_checkout(account=user, plan=plan("pro"), return_url="/c/", cancel_url="/p/")
    pro = Payment.objects.get(account=user, metadata__plan="pro")
    subscription_start_checkout(account=user, plan=plan("max"), return_url="/c/", cancel_url="/p/")

    assert fake_stripe.objects[pro.external_id]["status"] == "expired"
    pro.refresh_from_db()
    assert pro.status == PaymentStatus.CANCELED
    max_payment = Payment.objects.get(account=user, metadata__plan="max")
    assert max_payment.status == PaymentStatus.PENDING
    assert fake_stripe.objects[max_payment.external_id]["status"] == "open"


def test_renewal_of_a_subscription_no_account_pays_for_is_canceled_and_refunded(
    user, fake_stripe, stripe_subscribe, deliver
):
    _payment, sub_id = stripe_subscribe(user, "pro")
    Subscription.objects.filter(account=user).update(external_id="", plan=plan("free"))  # e.g. cancel lost

    invoice = fake_stripe.renew(sub_id)
    assert deliver(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    assert fake_stripe.objects[sub_id]["status"] == "canceled"
    [refund] = refund_posts(fake_stripe)
    assert refund.params["payment_intent"] == fake_stripe.invoice_payments[invoice["id"]]
    assert refund.params["amount"] == "2000"
    assert not Payment.objects.filter(account=user, purpose=PaymentPurpose.RENEWAL).exists()
    assert AuditEvent.objects.filter(account=user, event_type="payment.stray_renewal_refunded").count() == 1


# -- (2) refund after an upgrade ------------------------------------------------------------------------


def test_refund_after_an_upgrade_refunds_each_part_by_the_intent_that_paid_it(
    user, fake_stripe, stripe_subscribe, django_capture_on_commit_callbacks
):
    payment, _sub_id = stripe_subscribe(user, "pro")
    subscription_upgrade(account=user, new_plan=plan("max"))
    upgrade = Payment.objects.get(account=user, purpose=PaymentPurpose.UPGRADE)
    assert upgrade.status == PaymentStatus.SUCCEEDED

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)

    refund.refresh_from_db()
    posts = refund_posts(fake_stripe)
    assert [p.params.get("payment_intent") for p in posts] == [
        fake_stripe.invoice_payments[payment.metadata["invoice"]],
        fake_stripe.invoice_payments[upgrade.external_id],
    ]
    assert all("invoice" not in p.params for p in posts)
    assert refund.status == "succeeded"
    assert set(RefundAllocation.objects.filter(refund=refund).values_list("status", flat=True)) == {
        "succeeded"
    }


@pytest.mark.parametrize("status", [409, 429, 500])
def test_a_retryable_stripe_answer_leaves_the_refund_part_to_retry(
    user, fake_stripe, stripe_subscribe, django_capture_on_commit_callbacks, status
):
    stripe_subscribe(user, "pro")
    fake_stripe.fail_next("POST", "/v1/refunds", status)
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)

    # The part was not marked failed: the follow-up sync job resubmitted it with the same key.
    allocation = RefundAllocation.objects.get(refund=refund)
    assert allocation.status == "succeeded"
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"
    assert len(refund_posts(fake_stripe)) == 2
    assert {p.idempotency_key for p in refund_posts(fake_stripe)} == {allocation.idempotency_key}


# -- (3) an upgrade clears a scheduled cancel or downgrade ------------------------------------------------


def test_upgrade_clears_a_scheduled_cancellation_on_stripe_and_locally(
    user, fake_stripe, stripe_subscribe, deliver
):
    _payment, sub_id = stripe_subscribe(user, "pro")
    subscription_schedule_change(account=user, plan=plan("free"))
    assert fake_stripe.objects[sub_id]["cancel_at_period_end"] is True

    subscription_upgrade(account=user, new_plan=plan("max"))
    assert fake_stripe.objects[sub_id]["cancel_at_period_end"] is False
    assert (
        deliver(fake_stripe.event("customer.subscription.updated", fake_stripe.objects[sub_id])).status_code
        == 200
    )

    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.scheduled_plan_id) == ("max", None)


def test_upgrade_releases_a_scheduled_downgrade_on_stripe_and_locally(
    user, fake_stripe, stripe_subscribe, deliver
):
    _payment, sub_id = stripe_subscribe(user, "max")
    subscription_schedule_change(account=user, plan=plan("pro"))
    schedule_id = fake_stripe.objects[sub_id]["schedule"]
    assert schedule_id

    subscription_upgrade(account=user, new_plan=plan("ultra"))
    assert fake_stripe.objects[schedule_id]["status"] == "released"
    assert fake_stripe.objects[sub_id]["schedule"] is None
    assert (
        deliver(fake_stripe.event("customer.subscription.updated", fake_stripe.objects[sub_id])).status_code
        == 200
    )

    subscription = Subscription.objects.select_related("plan").get(account=user)
    assert (subscription.plan.tier, subscription.scheduled_plan_id) == ("ultra", None)


# -- (7) what Stripe invoiced ------------------------------------------------------------------------------


def test_the_upgrade_payment_records_what_stripe_invoiced(user, fake_stripe, stripe_subscribe):
    _payment, sub_id = stripe_subscribe(user, "pro")
    fake_stripe.customer_balance[fake_stripe.objects[sub_id]["customer"]] = -150  # $1.50 credit

    subscription_upgrade(account=user, new_plan=plan("max"))

    upgrade = Payment.objects.get(account=user, purpose=PaymentPurpose.UPGRADE)
    invoice = fake_stripe.objects[upgrade.external_id]
    assert [line["amount"] for line in invoice["lines"]["data"]][0] < 0  # the unused-time credit line
    assert upgrade.amount_usd == from_cents(invoice["amount_paid"])
    assert Decimal(upgrade.metadata["quoted_usd"]) - upgrade.amount_usd >= Decimal("1.49")


# -- (4) off-session auto top-up --------------------------------------------------------------------------


def _card(fake_stripe, user):
    pm = fake_stripe.payment_method(customer=get_provider().customer_id(user))
    return payment_method_save(account=user, provider="stripe", external_id=pm["id"], last4="4242")


def _auto_topup(user, key):
    return payment_create(
        account=user,
        purpose=PaymentPurpose.AUTO_TOPUP,
        amount_usd=Decimal("25.00"),
        description="Auto top-up",
        idempotency_key=key,
    )


def test_off_session_confirmation_is_card_only_as_stripe_requires(user, fake_stripe, fulfilled):
    card = _card(fake_stripe, user)
    payment = payment_charge_saved_method(payment=_auto_topup(user, "auto:1"), payment_method=card)

    [charge] = fake_stripe.posts("/v1/payment_intents")
    assert charge.params["payment_method_types"] == ["card"]
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fulfilled == {"success": [payment.pk], "failure": []}


def test_a_card_asking_for_3d_secure_fails_the_off_session_payment(user, fake_stripe, fulfilled):
    card = _card(fake_stripe, user)
    fake_stripe.authentication_required_payment_methods.add(card.external_id)

    payment = payment_charge_saved_method(payment=_auto_topup(user, "auto:2"), payment_method=card)

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == (
        "Your bank asks you to confirm this payment, which cannot happen automatically."
    )
    assert fulfilled == {"success": [], "failure": [payment.pk]}


# -- (8) periodic jobs go on past one Stripe error ----------------------------------------------------------


def test_one_stripe_error_does_not_stall_the_grace_expiry_job(
    fake_stripe, stripe_subscribe, django_user_model
):
    accounts = [
        django_user_model.objects.create_user(email=f"g{i}@example.com", password="x") for i in range(2)
    ]
    subs = [stripe_subscribe(account, "pro")[1] for account in accounts]
    Subscription.objects.filter(account__in=accounts).update(
        status=SubscriptionStatus.PAST_DUE, past_due_since=timezone.now() - timedelta(days=30)
    )
    first = Subscription.objects.filter(account__in=accounts).order_by("past_due_since", "pk").first()
    fake_stripe.fail_next("DELETE", f"/v1/subscriptions/{first.external_id}", 500)

    subscription_expire_grace()

    tiers = dict(Subscription.objects.filter(account__in=accounts).values_list("external_id", "plan__tier"))
    other = next(s for s in subs if s != first.external_id)
    assert tiers == {first.external_id: "pro", "": "free"}
    assert fake_stripe.objects[other]["status"] == "canceled"
    subscription_expire_grace()  # the next run retries the one that failed
    assert set(Subscription.objects.filter(account__in=accounts).values_list("plan__tier", flat=True)) == {
        "free"
    }


# -- (6) a refund Stripe reverses after it succeeded --------------------------------------------------------


def test_a_refund_that_fails_after_succeeding_is_recorded_once(
    user, fake_stripe, stripe_subscribe, deliver, django_capture_on_commit_callbacks
):
    payment, _sub_id = stripe_subscribe(user, "pro")
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(account=user)
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    payment.refresh_from_db()
    assert payment.refunded_usd == refund.amount_usd

    allocation = RefundAllocation.objects.get(refund=refund)
    remote = fake_stripe.settle_refund(allocation.external_id, "failed")
    for _delivery in range(2):  # refund.failed, and Stripe retrying it: recorded once
        assert deliver(fake_stripe.event("refund.failed", remote)).status_code == 200

    refund.refresh_from_db()
    payment.refresh_from_db()
    allocation.refresh_from_db()
    assert (refund.status, allocation.status, payment.refunded_usd) == ("failed", "failed", Decimal("0.00"))
    assert "contact support" in refund.failure_message
    assert AuditEvent.objects.filter(account=user, event_type="refund.reversed").count() == 1


# -- (5) disputes ---------------------------------------------------------------------------------------


def test_a_dispute_claws_back_the_credits_monitors_the_account_and_a_won_one_restores_both(
    user, fake_stripe, deliver
):
    from apps.wallet.models import Wallet

    card = _card(fake_stripe, user)
    payment = payment_charge_saved_method(payment=_auto_topup(user, "auto:9"), payment_method=card)
    wallet = Wallet.objects.get(account=user)
    assert wallet.total_balance == Decimal("30.00")  # $25 top-up + 20% bonus
    Wallet.objects.filter(pk=wallet.pk).update(auto_topup_enabled=True)

    dispute = fake_stripe.dispute(payment.external_id)
    for _delivery in range(2):  # created, and Stripe retrying it: one change
        assert deliver(fake_stripe.event("charge.dispute.created", dispute)).status_code == 200

    payment.refresh_from_db()
    user.refresh_from_db()
    wallet.refresh_from_db()
    assert payment.metadata["dispute"]["status"] == "open"
    assert payment.metadata["dispute"]["amount_usd"] == "25.00"
    assert (wallet.total_balance, wallet.arrears, wallet.auto_topup_enabled) == (
        Decimal("0"),
        Decimal("0"),
        False,
    )
    assert user.status == "monitored"
    assert AuditEvent.objects.get(account=user, event_type="account.status_changed").details["reason"] == (
        "Payment disputed with the bank (fraudulent)."
    )

    won = fake_stripe.dispute(payment.external_id, status="won")
    for _delivery in range(2):
        assert deliver(fake_stripe.event("charge.dispute.closed", won)).status_code == 200
    user.refresh_from_db()
    wallet.refresh_from_db()
    assert user.status == "healthy"
    assert wallet.total_balance == Decimal("30.00")
    assert AuditEvent.objects.filter(account=user, event_type__startswith="payment.dispute_").count() == 2


def test_credits_spent_before_a_dispute_become_arrears(user, fake_stripe, deliver):
    from apps.wallet.models import Wallet
    from apps.wallet.services import wallet_debit

    card = _card(fake_stripe, user)
    payment = payment_charge_saved_method(payment=_auto_topup(user, "auto:10"), payment_method=card)
    wallet_debit(account=user, amount=Decimal("20"), idempotency_key="usage:1")

    lost = fake_stripe.dispute(payment.external_id)
    assert deliver(fake_stripe.event("charge.dispute.created", lost)).status_code == 200
    lost = fake_stripe.dispute(payment.external_id, status="lost")
    assert deliver(fake_stripe.event("charge.dispute.closed", lost)).status_code == 200

    wallet = Wallet.objects.get(account=user)
    assert (wallet.top_up_balance + wallet.bonus_balance, wallet.arrears) == (Decimal("0"), Decimal("20"))
    user.refresh_from_db()
    assert user.status == "monitored"


def test_the_readme_lists_exactly_the_handled_events():
    import re
    from pathlib import Path

    from apps.billing.stripe_handlers import HANDLED_EVENTS

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    block = readme.split("<!-- stripe-events -->")[1].split("<!-- /stripe-events -->")[0]
    assert re.findall(r"`([a-z_.]+)`", block) == list(HANDLED_EVENTS)


def test_one_stripe_error_does_not_stall_the_auto_top_up_retry_job(fake_stripe, django_user_model):
    from apps.wallet.models import Wallet
    from apps.wallet.services import wallet_auto_topup_retry_stale, wallet_get_or_create

    accounts = [
        django_user_model.objects.create_user(email=f"t{i}@example.com", password="x") for i in range(2)
    ]
    for account in accounts:
        _card(fake_stripe, account)
        wallet = wallet_get_or_create(account=account)
        Wallet.objects.filter(pk=wallet.pk).update(
            auto_topup_enabled=True,
            auto_topup_pending=True,
            auto_topup_seq=1,
            auto_topup_amount=Decimal("25.00"),
            updated_at=timezone.now() - timedelta(hours=1),
        )
    fake_stripe.fail_next("POST", "/v1/payment_intents", 500)

    assert wallet_auto_topup_retry_stale() == 2

    statuses = sorted(
        Payment.objects.filter(purpose=PaymentPurpose.AUTO_TOPUP).values_list("status", flat=True)
    )
    assert statuses == ["pending", "succeeded"]  # the 500 stays pending for the next run, the other is paid


def test_staff_find_disputed_payments_in_admin(user, fake_stripe, deliver, staff_client):
    from django.urls import reverse

    card = _card(fake_stripe, user)
    payment = payment_charge_saved_method(payment=_auto_topup(user, "auto:9"), payment_method=card)
    assert (
        deliver(
            fake_stripe.event("charge.dispute.created", fake_stripe.dispute(payment.external_id))
        ).status_code
        == 200
    )

    url = reverse("admin:billing_payment_changelist")
    open_list = staff_client.get(url, {"dispute": "open"})
    assert open_list.status_code == 200
    assert [row.pk for row in open_list.context["cl"].result_list] == [payment.pk]
    assert "open · fraudulent" in open_list.content.decode()
    assert staff_client.get(url, {"dispute": "won"}).context["cl"].result_count == 0
