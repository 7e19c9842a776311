from decimal import Decimal

import pytest
from django.urls import reverse

from apps.billing import services
from apps.billing.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from apps.billing.services import (
    checkout_start,
    payment_charge_saved_method,
    payment_create,
    payment_method_save,
)
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.billing.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fulfilled(monkeypatch):
    """Record what the purpose's handlers were called with (the handlers are other apps' business)."""
    calls = {"success": [], "failure": []}
    monkeypatch.setattr(services, "_HANDLERS", {})
    services.register_payment_handlers(
        PaymentPurpose.TOPUP,
        on_success=lambda p: calls["success"].append(p.pk),
        on_failure=lambda p: calls["failure"].append(p.pk),
    )
    return calls


def test_payment_create_is_idempotent_and_rounds_to_cents(user):
    first = payment_create(
        account=user,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=Decimal("10.005"),
        description="x",
        idempotency_key="k1",
    )
    again = payment_create(
        account=user,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=Decimal("99"),
        description="y",
        idempotency_key="k1",
    )
    assert first.pk == again.pk
    assert again.amount_usd == Decimal("10.01")
    assert Payment.objects.count() == 1


def test_sandbox_checkout_pays_once_even_when_submitted_twice(user_client, user, fulfilled):
    payment = PaymentFactory(account=user, amount_usd=Decimal("25.00"))
    url = checkout_start(payment=payment)
    assert url == reverse("billing:sandbox_checkout", args=[payment.public_id])
    page = user_client.get(url)
    assert page.status_code == 200
    assert "$25.00" in page.content.decode()
    first = user_client.post(url, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    second = user_client.post(url, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    assert first.status_code == second.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.receipt_number == f"FP-{payment.paid_at:%Y}-{payment.pk:07d}"
    assert fulfilled["success"] == [payment.pk]
    assert AuditEvent.objects.filter(event_type="payment.succeeded", subject_id=str(payment.pk)).count() == 1


def test_declined_card_leaves_the_payment_open_and_fulfils_nothing(user_client, user, fulfilled):
    payment = PaymentFactory(account=user)
    url = checkout_start(payment=payment)
    response = user_client.post(url, {"action": "pay", "card_number": "4000 0000 0000 0002"})
    assert response.status_code == 200
    assert "Your card was declined." in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert fulfilled == {"success": [], "failure": []}


def test_malformed_card_number_is_refused(user_client, user, fulfilled):
    payment = PaymentFactory(account=user)
    response = user_client.post(checkout_start(payment=payment), {"action": "pay", "card_number": "12ab"})
    assert response.status_code == 200
    assert "12 to 19 digits" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_cancel_marks_canceled_and_runs_the_failure_handler(user_client, user, fulfilled):
    payment = PaymentFactory(account=user)
    response = user_client.post(checkout_start(payment=payment), {"action": "cancel"})
    assert response.status_code == 302
    assert response.url == "/pricing/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    assert fulfilled["failure"] == [payment.pk]


def test_another_accounts_checkout_is_404(client, fulfilled):
    payment = PaymentFactory()
    client.force_login(UserFactory())
    url = checkout_start(payment=payment)
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "pay", "card_number": "4242424242424242"}).status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_checkout_can_save_the_card_for_later(user_client, user, fulfilled):
    payment = PaymentFactory(account=user)
    user_client.post(
        checkout_start(payment=payment, save_method=True),
        {"action": "pay", "card_number": "4242424242424242"},
    )
    method = PaymentMethod.objects.get(account=user)
    assert (method.last4, method.is_default, method.provider) == ("4242", True, "sandbox")


def test_off_session_charge_succeeds_or_fails_by_card(user, fulfilled):
    good = payment_method_save(account=user, provider="sandbox", external_id="pm_good", last4="4242")
    ok = payment_charge_saved_method(payment=PaymentFactory(account=user), payment_method=good)
    assert ok.status == PaymentStatus.SUCCEEDED
    bad = payment_method_save(account=user, provider="sandbox", external_id="pm_bad", last4="0002")
    declined = payment_charge_saved_method(payment=PaymentFactory(account=user), payment_method=bad)
    assert declined.status == PaymentStatus.FAILED
    assert declined.failure_message == "Your card was declined."
    assert fulfilled == {"success": [ok.pk], "failure": [declined.pk]}
