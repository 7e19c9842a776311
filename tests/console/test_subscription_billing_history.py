"""Billing history on /console/subscription/ and the sandbox PDF receipt."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from apps.billing.models import PaymentPurpose, PaymentStatus
from apps.billing.services import payment_fail, payment_succeed
from tests.accounts.factories import UserFactory
from tests.billing.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def paid(**fields):
    payment = PaymentFactory(**fields)
    return payment_succeed(payment_id=payment.pk)


def test_history_lists_only_the_accounts_own_settled_payments(user_client, user):
    mine = paid(
        account=user,
        purpose=PaymentPurpose.UPGRADE,
        amount_usd=Decimal("40.00"),
        description="Pro → Max",
        metadata={"plan": "max"},
    )
    declined = PaymentFactory(account=user, purpose=PaymentPurpose.RENEWAL, amount_usd=Decimal("100.00"))
    payment_fail(payment_id=declined.pk, message="declined")
    open_checkout = PaymentFactory(account=user, amount_usd=Decimal("7.00"))
    theirs = paid(account=UserFactory(), amount_usd=Decimal("55.55"))
    html = user_client.get("/console/subscription/").content.decode()
    assert f'data-payment="{mine.public_id}"' in html
    assert f'data-payment="{declined.public_id}"' in html
    assert f'data-payment="{open_checkout.public_id}"' not in html
    assert f'data-payment="{theirs.public_id}"' not in html
    assert "Upgrade proration" in html and "Pro → Max" in html and "$40.00" in html
    assert "$55.55" not in html
    assert reverse("console:payment_receipt", args=[mine.public_id]) in html
    assert reverse("console:payment_receipt", args=[declined.public_id]) not in html


def test_stripe_payments_link_to_the_hosted_invoice(user_client, user):
    payment = paid(account=user, provider="stripe")
    payment.invoice_url = "https://invoice.stripe.com/i/acct_1/inv_1"
    payment.invoice_pdf_url = "https://pay.stripe.com/invoice/acct_1/inv_1/pdf"
    payment.save()
    html = user_client.get("/console/subscription/").content.decode()
    assert 'href="https://invoice.stripe.com/i/acct_1/inv_1"' in html
    assert 'href="https://pay.stripe.com/invoice/acct_1/inv_1/pdf"' in html
    assert reverse("console:payment_receipt", args=[payment.public_id]) not in html


def test_history_is_paginated_with_bounded_queries(user_client, user, django_assert_max_num_queries):
    for cents in range(1, 26):
        paid(account=user, amount_usd=Decimal(cents) / 100)
    # 8 for the plan card, keys and history + 7 for the quota cards (3), the Flow breakdown (3) and Extra Usage (1)
    # + 1: the Refund column reads the account's refund parts once for the whole page (apps.refunds).
    # + 1: the create-key form's model allow-list reads the catalog's slugs (issue #22).
    with django_assert_max_num_queries(17):
        first = user_client.get("/console/subscription/")
    html = first.content.decode()
    assert html.count("data-payment=") == 10
    assert "Page 1 of 3" in html and "$0.25" in html and "$0.15" not in html
    fragment = user_client.get(
        "/console/subscription/?page=3", headers={"HX-Request": "true", "HX-Target": "billing-history"}
    ).content.decode()
    assert fragment.lstrip().startswith('<section id="billing-history"')
    assert fragment.count("data-payment=") == 5 and "$0.01" in fragment


def test_receipt_is_a_pdf_with_amount_and_receipt_number(user_client, user):
    payment = paid(
        account=user, purpose=PaymentPurpose.RENEWAL, amount_usd=Decimal("1234.50"), description="Max"
    )
    response = user_client.get(reverse("console:payment_receipt", args=[payment.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert payment.receipt_number in text
    assert "$1,234.50 USD" in text
    assert user.email in text
    assert "Renewal: Max" in text
    assert f"{payment.paid_at:%Y-%m-%d}" in text


def test_receipt_of_another_account_or_an_unpaid_payment_is_404(user_client, user):
    theirs = paid(account=UserFactory())
    unpaid = PaymentFactory(account=user)
    assert user_client.get(reverse("console:payment_receipt", args=[theirs.public_id])).status_code == 404
    assert user_client.get(reverse("console:payment_receipt", args=[unpaid.public_id])).status_code == 404
    assert unpaid.status == PaymentStatus.PENDING


def receipt_text(client, payment, prefix="") -> str:
    response = client.get(prefix + reverse("console:payment_receipt", args=[payment.public_id]))
    assert response.status_code == 200
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_a_chinese_receipt_reads_as_chinese_with_an_embedded_cjk_font(user_client, user):
    payment = paid(
        account=user,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=Decimal("100.00"),
        description="Pay-as-you-go top-up",
    )
    english = receipt_text(user_client, payment)
    assert "Receipt" in english and "Pay-as-you-go top-up" in english
    text = receipt_text(user_client, payment, prefix="/zh-hans")
    assert "收据" in text
    assert "按量付费充值" in text  # the stored English description, in the reader's language
    assert "$100.00 USD" in text and payment.receipt_number in text
    assert "?" not in text


def test_without_the_font_a_receipt_falls_back_to_english_never_question_marks(user_client, user, settings):
    settings.FLOWPORT_RECEIPT_FONT = "/nonexistent/font.ttc"
    payment = paid(
        account=user, purpose=PaymentPurpose.TOPUP, amount_usd=Decimal("5.00"), description="Auto top-up"
    )
    text = receipt_text(user_client, payment, prefix="/zh-hans")
    assert "Receipt" in text and "Auto top-up" in text
    assert "?" not in text
