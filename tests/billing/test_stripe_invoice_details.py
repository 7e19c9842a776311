"""Invoice details reach the Stripe customer (so Stripe's hosted invoices carry them): at creation, and
after a change (a task after commit); cleared details are unset on Stripe. Held to stripe-python's types."""

import pytest

from apps.accounts.services import invoice_details_update
from apps.billing.providers.stripe import StripeProvider

pytestmark = pytest.mark.django_db

DETAILS = {
    "legal_name": "Acme Analytics GmbH",
    "address_line1": "Friedrichstraße 68",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "tax_id": "DE123456789",
}


def test_a_new_customer_is_created_with_the_details(fake_stripe, user):
    invoice_details_update(account=user, **DETAILS)
    customer = fake_stripe.objects[StripeProvider().customer_id(user)]
    assert customer["name"] == "Acme Analytics GmbH"
    assert customer["address"] == {
        "city": "Berlin",
        "country": "DE",
        "line1": "Friedrichstraße 68",
        "line2": None,
        "postal_code": "10117",
        "state": None,
    }
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "Tax ID", "value": "DE123456789"}]


def test_a_change_updates_the_existing_customer_after_commit(
    fake_stripe, user, django_capture_on_commit_callbacks
):
    customer_id = StripeProvider().customer_id(user)
    assert fake_stripe.objects[customer_id]["name"] is None
    with django_capture_on_commit_callbacks(execute=True):
        invoice_details_update(account=user, **DETAILS)
    customer = fake_stripe.objects[customer_id]
    assert (customer["name"], customer["address"]["country"]) == ("Acme Analytics GmbH", "DE")
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "Tax ID", "value": "DE123456789"}]

    with django_capture_on_commit_callbacks(execute=True):
        invoice_details_update(account=user, **dict.fromkeys(DETAILS, ""))
    customer = fake_stripe.objects[customer_id]
    assert (customer["name"], customer["address"], customer["invoice_settings"]["custom_fields"]) == (
        None,
        None,
        None,
    )


def test_no_customer_yet_means_no_call(fake_stripe, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_details_update(account=user, **DETAILS)
    assert [o for o in fake_stripe.objects.values() if o.get("object") == "customer"] == []
