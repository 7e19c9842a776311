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


def test_top_up_presets_and_the_live_you_get_line_in_both_languages(logged_in_page):
    page = logged_in_page
    page.goto("/console/payg/")
    line = page.get_by_test_id("topup-you-get")
    expect(line).to_have_text("")
    page.get_by_test_id("topup-preset-100").click()
    expect(page.locator("#topup_amount")).to_have_value("100")
    expect(line).to_have_text("You pay $100.00 and get $120.00 in credits ($20.00 bonus).")
    page.fill("#topup_amount", "12.34")  # bonus 2.468 → $2.47, half-up like the server
    expect(line).to_have_text("You pay $12.34 and get $14.81 in credits ($2.47 bonus).")
    page.fill("#topup_amount", "4.99")
    expect(line).to_have_text("")

    page.goto("/zh-hans/console/payg/")
    page.get_by_test_id("topup-preset-50").click()
    expect(page.get_by_test_id("topup-you-get")).to_have_text(
        "支付 $50.00，获得 $60.00 额度（含 $10.00 赠送）。"
    )
    page.click("[data-testid=topup-submit]")
    page.wait_for_url(re.compile(r".*/billing/sandbox/checkout/.*"))
    expect(page.get_by_test_id("checkout-amount")).to_have_text("$50.00")
