"""Browser journey: Free -> Get Pro (sandbox checkout) -> Upgrade to Max through the HTMX dialog."""

import pytest
from playwright.sync_api import expect

from apps.plans.models import Subscription


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_subscribe_then_upgrade_in_the_browser(logged_in_page, user):
    page = logged_in_page
    page.goto("/console/subscription/")
    page.get_by_test_id("subscribe-pro").click()
    page.wait_for_url("**/billing/sandbox/checkout/**")
    expect(page.get_by_test_id("checkout-amount")).to_have_text("$20.00")
    page.get_by_test_id("checkout-pay").click()
    page.wait_for_url("**/console/subscription/")
    expect(page.get_by_test_id("plan-card")).to_have_attribute("data-tier", "pro")

    page.get_by_test_id("upgrade-max").click()
    dialog = page.get_by_test_id("plan-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("upgrade-amount")).to_have_text("$80.00")  # at the start of the cycle
    page.get_by_test_id("confirm-upgrade").click()
    expect(page.get_by_test_id("plan-card")).to_have_attribute("data-tier", "max")
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("You are now on the Max plan.")).to_be_visible()
    assert Subscription.objects.get(account=user).plan.tier == "max"
