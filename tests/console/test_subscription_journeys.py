"""Sandbox journeys through the console: subscribe, upgrade, downgrade and undo, refusals."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from apps.billing.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from apps.core.dates import add_months
from apps.core.models import AuditEvent
from apps.plans.models import Plan, Subscription, SubscriptionStatus
from tests.plans.factories import put_on_plan, save_card

pytestmark = pytest.mark.django_db

PAGE = "/console/subscription/"


def events(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(account=user, event_type__startswith="subscription.")
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_page_url_and_free_plan_card(user_client, user):
    assert reverse("console:subscription") == PAGE
    response = user_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-tier="free"' in html
    for tier, name in (("pro", "Pro"), ("max", "Max"), ("ultra", "Ultra")):
        assert f'data-testid="subscribe-{tier}"' in html
        assert f"Get {name}" in html
    assert 'id="api-keys-subscription"' in html
    assert 'id="extra-usage"' in html


def test_subscribe_through_the_sandbox_checkout(user_client, user):
    confirm = user_client.get(reverse("console:subscribe") + "?plan=pro")
    assert confirm.status_code == 200
    assert "You pay $20.00 now for one month of Pro" in confirm.content.decode()

    first = user_client.post(reverse("console:subscribe"), {"plan": "pro"})
    second = user_client.post(reverse("console:subscribe"), {"plan": "pro"})  # double submit
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    payment = Payment.objects.get(account=user)
    assert first.url == reverse("billing:sandbox_checkout", args=[payment.public_id])
    assert (payment.purpose, payment.amount_usd, payment.metadata["plan"]) == (
        "subscription",
        Decimal("20.00"),
        "pro",
    )

    paid = user_client.post(first.url, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 302
    assert paid.url == "http://testserver/console/subscription/"

    payment.refresh_from_db()
    subscription = Subscription.objects.get(account=user)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert subscription.plan.tier == "pro"
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_start == payment.paid_at
    assert subscription.current_period_end == add_months(payment.paid_at, 1)
    assert PaymentMethod.objects.get(account=user).last4 == "4242"  # saved for renewals and upgrades
    assert events(user) == ["subscription.subscribed"]

    page = user_client.get(PAGE).content.decode()
    assert 'data-tier="pro"' in page
    assert f"{payment.paid_at + timedelta(days=0):%Y-%m-%d}" in page
    assert 'data-testid="upgrade-max"' in page
    assert 'data-testid="change-free"' in page  # cancel


def test_a_checkout_for_another_plan_is_a_separate_payment(user_client, user):
    pro = user_client.post(reverse("console:subscribe"), {"plan": "pro"})
    max_ = user_client.post(reverse("console:subscribe"), {"plan": "max"})
    assert pro.url != max_.url
    statuses = dict(Payment.objects.values_list("metadata__plan", "amount_usd"))
    assert statuses == {"pro": Decimal("20.00"), "max": Decimal("100.00")}


def test_paid_subscriber_cannot_subscribe_again(user_client, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=1), end=now + timedelta(days=29))
    response = user_client.post(reverse("console:subscribe"), {"plan": "max"}, follow=True)
    assert "You already have a paid plan: upgrade or downgrade it instead." in messages_of(response)
    assert Payment.objects.count() == 0


@pytest.fixture
def on_pro_half_way(user):
    """Pro, 15 of 30 days left, card on file."""
    now = timezone.now()
    save_card(user)
    return put_on_plan(user, "pro", start=now - timedelta(days=15), end=now + timedelta(days=15))


def test_upgrade_dialog_shows_the_prorated_charge_and_unchanged_renewal_date(user_client, on_pro_half_way):
    url = reverse("console:subscription_upgrade") + "?plan=max"
    fragment = user_client.get(url, headers={"HX-Request": "true", "HX-Target": "plan-dialog"})
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert html.lstrip().startswith("<dialog open")
    assert '<strong class="figure" data-testid="upgrade-amount">$40.00</strong>' in html
    assert f"Your renewal date stays {on_pro_half_way.current_period_end:%Y-%m-%d}" in html
    assert "Pay $40.00 and upgrade" in html
    # without HTMX: the whole page with the dialog open
    page = user_client.get(url).content.decode()
    assert "<html" in page and 'data-testid="plan-dialog"' in page and "$40.00" in page


def test_double_submitted_upgrade_confirmation_charges_once(user_client, user, on_pro_half_way):
    url = reverse("console:subscription_upgrade")
    first = user_client.post(url, {"plan": "max"})
    second = user_client.post(url, {"plan": "max"}, headers={"HX-Request": "true"})
    assert first.status_code == 302 and second.status_code == 200
    assert 'id="subscription-panel"' in second.content.decode()
    payment = Payment.objects.get(account=user)
    assert (payment.purpose, payment.amount_usd, payment.status) == (
        PaymentPurpose.UPGRADE,
        Decimal("40.00"),
        PaymentStatus.SUCCEEDED,
    )
    subscription = Subscription.objects.get(account=user)
    assert subscription.plan.tier == "max"
    assert subscription.current_period_end == on_pro_half_way.current_period_end  # renewal date unchanged
    assert subscription.current_period_start == on_pro_half_way.current_period_start
    assert events(user) == ["subscription.upgraded"]


def test_declined_upgrade_changes_nothing_and_can_be_retried(user_client, user, on_pro_half_way):
    save_card(user, last4="0002")  # now the default card, declined
    response = user_client.post(reverse("console:subscription_upgrade"), {"plan": "max"}, follow=True)
    assert messages_of(response) == ["The upgrade payment failed: Your card was declined. Nothing changed."]
    assert Subscription.objects.get(account=user).plan.tier == "pro"
    assert events(user) == []
    assert Payment.objects.get(account=user).status == PaymentStatus.FAILED

    save_card(user, last4="4242")
    user_client.post(reverse("console:subscription_upgrade"), {"plan": "max"})
    assert Subscription.objects.get(account=user).plan.tier == "max"
    assert list(Payment.objects.filter(account=user).order_by("id").values_list("status", flat=True)) == [
        PaymentStatus.FAILED,
        PaymentStatus.SUCCEEDED,
    ]
    assert events(user) == ["subscription.upgraded"]


def test_downgrade_then_undo(user_client, user):
    now = timezone.now()
    save_card(user)
    put_on_plan(user, "max", start=now - timedelta(days=3), end=now + timedelta(days=27))
    dialog = user_client.get(
        reverse("console:subscription_schedule") + "?plan=pro", headers={"HX-Request": "true"}
    ).content.decode()
    assert "then your plan changes to Pro at $20.00/mo." in dialog
    assert "Nothing is charged now" in dialog

    response = user_client.post(reverse("console:subscription_schedule"), {"plan": "pro"}, follow=True)
    subscription = Subscription.objects.get(account=user)
    assert subscription.plan.tier == "max"
    assert subscription.scheduled_plan.tier == "pro"
    html = response.content.decode()
    assert f"On {subscription.current_period_end:%Y-%m-%d} your plan changes to Pro." in html
    assert 'data-testid="undo-change"' in html

    user_client.post(reverse("console:subscription_undo"), {}, headers={"HX-Request": "true"})
    subscription.refresh_from_db()
    assert subscription.scheduled_plan is None
    assert subscription.plan.tier == "max"
    assert Payment.objects.count() == 0
    assert events(user) == ["subscription.change_scheduled", "subscription.change_unscheduled"]


def test_cancel_schedules_free_at_period_end(user_client, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=3), end=now + timedelta(days=27))
    response = user_client.post(reverse("console:subscription_schedule"), {"plan": "free"}, follow=True)
    assert f"on {now + timedelta(days=27):%Y-%m-%d} you move to the Free plan" in response.content.decode()
    assert Subscription.objects.get(account=user).scheduled_plan.tier == "free"


@pytest.mark.parametrize("action", ["console:subscription_schedule", "console:subscription_upgrade"])
def test_changing_to_the_current_plan_is_refused_and_changes_nothing(user_client, user, action):
    now = timezone.now()
    save_card(user)
    before = put_on_plan(user, "max", start=now - timedelta(days=3), end=now + timedelta(days=27))
    response = user_client.post(reverse(action), {"plan": "max"}, headers={"HX-Request": "true"})
    # Shown as a toast by the button that was pressed (HX-Trigger), not at the top of the panel.
    assert json.loads(response["HX-Trigger"])["flowport:toast"]["messages"] == [
        {"level": "error", "text": "You are already on the Max plan."}
    ]
    after = Subscription.objects.get(account=user)
    assert (after.plan_id, after.scheduled_plan_id, after.current_period_end) == (
        before.plan_id,
        None,
        before.current_period_end,
    )
    assert events(user) == []
    assert Payment.objects.count() == 0


def test_downgrade_via_upgrade_and_upgrade_via_schedule_are_refused(user_client, user):
    now = timezone.now()
    put_on_plan(user, "max", start=now - timedelta(days=3), end=now + timedelta(days=27))
    cheaper = user_client.post(reverse("console:subscription_upgrade"), {"plan": "pro"}, follow=True)
    dearer = user_client.post(reverse("console:subscription_schedule"), {"plan": "ultra"}, follow=True)
    assert messages_of(cheaper) == [
        "Pro is not an upgrade from your current plan; schedule it as a downgrade instead."
    ]
    assert messages_of(dearer) == ["Ultra costs more than your current plan: upgrade to it instead."]
    assert events(user) == [] and Payment.objects.count() == 0


def test_unknown_plan_is_refused(user_client, user):
    response = user_client.post(reverse("console:subscription_upgrade"), {"plan": "platinum"}, follow=True)
    assert messages_of(response) == ["Choose one of the plans offered."]
    assert user_client.get(reverse("console:subscribe") + "?plan=platinum").status_code == 404


def test_pages_need_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_chinese_page_renders(user_client, user):
    try:
        response = user_client.get("/zh-hans/console/subscription/")
    finally:
        translation.activate(settings.LANGUAGE_CODE)  # the request leaves zh-hans active in this thread
    assert response.status_code == 200
    html = response.content.decode()
    assert "变更套餐" in html and "账单历史" in html
    assert Plan.objects.get(tier="pro").name in html


def test_previews_of_impossible_changes_show_the_reason_instead_of_a_dialog(user_client, user):
    upgrade = user_client.get(
        reverse("console:subscription_upgrade") + "?plan=max", headers={"HX-Request": "true"}
    )
    assert upgrade["HX-Retarget"] == "#subscription-panel"
    html = upgrade.content.decode()
    assert json.loads(upgrade["HX-Trigger"])["flowport:toast"]["messages"] == [
        {"level": "error", "text": "Subscribe to a paid plan first."}
    ]
    assert "plan-dialog" not in html.split('id="plan-dialog"')[1][:40]  # the dialog slot stays empty
    plain = user_client.get(reverse("console:subscription_schedule") + "?plan=free", follow=True)
    assert messages_of(plain) == ["You are already on the Free plan."]
