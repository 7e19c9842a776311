import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_top_up_in_the_browser_and_open_the_credits_breakdown(logged_in_page):
    page = logged_in_page
    page.goto("/console/payg/")
    page.fill("#topup_amount", "4.99")
    page.click("[data-testid=topup-submit]")
    expect(page.locator("#payg-topup")).to_contain_text("The minimum top-up is $5.00.")
    page.fill("#topup_amount", "100")
    page.click("[data-testid=topup-submit]")
    page.wait_for_url(re.compile(r".*/billing/sandbox/checkout/.*"))
    expect(page.get_by_test_id("checkout-amount")).to_have_text("$100.00")
    page.click("[data-testid=checkout-pay]")
    page.wait_for_url(re.compile(r".*/console/payg/$"))
    expect(page.get_by_test_id("balance-total")).to_have_text("$120.00")
    expect(page.get_by_test_id("balance-bonus")).to_have_text("$20.00")
    page.click("[data-testid=breakdown-open]")
    dialog = page.locator("#credits-breakdown")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("breakdown-bonus")).to_contain_text("$20.00")
    expect(dialog.get_by_test_id("breakdown-total")).to_contain_text("$120.00")
