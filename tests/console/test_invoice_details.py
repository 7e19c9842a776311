"""Invoice details on the account settings page: optional, bounded and validated; printed on receipts."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from apps.accounts.models import InvoiceDetails
from apps.billing.models import PaymentPurpose
from apps.billing.services import payment_succeed
from apps.core.models import AuditEvent
from tests.billing.factories import PaymentFactory

pytestmark = pytest.mark.django_db

URL = "/console/account/invoice-details/"
FULL = {
    "legal_name": "Acme Analytics GmbH",
    "address_line1": "Friedrichstraße 68",
    "address_line2": "3. OG",
    "city": "Berlin",
    "postal_code": "10117",
    "region": "",
    "country": "DE",
    "tax_id": "de 123456789",
}


def saved(user) -> dict | None:
    details = InvoiceDetails.objects.filter(account=user).first()
    return None if details is None else {name: str(getattr(details, name)) for name in FULL}


def test_saving_the_details_shows_them_and_audits_the_fields(user_client, user):
    response = user_client.post(URL, FULL)
    assert response["Location"] == "/console/account/#account-invoice"
    assert saved(user) == FULL | {"tax_id": "DE 123456789"}
    event = AuditEvent.objects.get(event_type="account.invoice_details_updated")
    assert event.details == {
        "fields": ["legal_name", "address_line1", "address_line2", "city", "postal_code", "country", "tax_id"]
    }
    html = user_client.get("/console/account/").content.decode()
    assert 'value="Acme Analytics GmbH"' in html
    assert "Invoice details changed." in user_client.get("/console/activity/").content.decode()
    assert '<option value="DE" selected>Germany</option>' in html
    # Saving the same again writes nothing.
    user_client.post(URL, FULL)
    assert AuditEvent.objects.filter(event_type="account.invoice_details_updated").count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", "x" * 201),
        ("tax_id", "DE=123456789"),
        ("tax_id", "not-a-number"),
        ("tax_id", "1" * 41),
        ("country", "XX"),
        ("postal_code", "1" * 21),
    ],
)
def test_bad_input_is_a_400_with_the_field_error_and_changes_nothing(user_client, user, field, value):
    user_client.post(URL, FULL)
    before = saved(user)
    response = user_client.post(URL, FULL | {field: value})
    assert response.status_code == 400
    assert 'class="errorlist" role="alert"' in response.content.decode()
    assert saved(user) == before


def test_everything_is_optional(user_client, user):
    assert user_client.post(URL, {})["Location"] == "/console/account/#account-invoice"


def test_the_receipt_carries_the_invoice_details(user_client, user):
    user_client.post(URL, FULL)
    payment = payment_succeed(
        payment_id=PaymentFactory(
            account=user, purpose=PaymentPurpose.RENEWAL, amount_usd=Decimal("20.00"), description="Pro"
        ).pk
    )
    response = user_client.get(reverse("console:payment_receipt", args=[payment.public_id]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for line in ("Acme Analytics GmbH", "Friedrichstraße 68", "3. OG", "10117 Berlin", "Germany", user.email):
        assert line in text, line
    assert "Tax ID DE 123456789" in text
