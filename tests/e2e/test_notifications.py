"""The inbox in the browser: a top-up's receipt lights the bell, the inbox lists it, mark all as read."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_top_up_receipt_reaches_the_bell_and_the_inbox(logged_in_page):
    page = logged_in_page
    expect(page.get_by_test_id("notification-unread")).to_have_count(0)
    page.goto("/console/payg/")
    page.fill("#topup_amount", "10")
    page.click("[data-testid=topup-submit]")
    page.wait_for_url(re.compile(r".*/billing/sandbox/checkout/.*"))
    page.click("[data-testid=checkout-pay]")
    page.wait_for_url(re.compile(r".*/console/payg/$"))
    expect(page.get_by_test_id("notification-unread")).to_have_text("1")
    page.click("[data-testid=notification-bell]")
    page.wait_for_url(re.compile(r".*/console/notifications/$"))
    expect(page.get_by_test_id("notification")).to_have_count(1)
    expect(page.get_by_test_id("notification")).to_contain_text("Receipt for your top-up of $10.00")
    page.click("[data-testid=mark-all-read]")
    expect(page.get_by_test_id("notification-unread")).to_have_count(0)
    expect(page.locator("[data-unread=true]")).to_have_count(0)
