"""Browser journey: subscribe to Pro (sandbox), open the refund dialog from the billing history, confirm,
and see the refund succeed (the sandbox settles at once without a broker) and the plan drop to Free."""

import pytest
from playwright.sync_api import expect

from apps.plans.models import Subscription
from apps.refunds.models import Refund


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_refund_from_the_billing_history(logged_in_page, user):
    page = logged_in_page
    page.goto("/console/subscription/")
    page.get_by_test_id("subscribe-pro").click()
    page.wait_for_url("**/billing/sandbox/checkout/**")
    page.get_by_test_id("checkout-pay").click()
    page.wait_for_url("**/console/subscription/")

    expect(page.get_by_test_id("billing-history").get_by_test_id("refund-window")).to_contain_text(
        "Refund window: 23 h"
    )
    page.get_by_test_id("refund-button").click()
    dialog = page.get_by_test_id("refund-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("refund-total")).to_have_text("$20.00")
    expect(page.get_by_test_id("refund-usage")).to_have_text("$0.00")
    expect(page.get_by_test_id("refund-fee")).to_have_text("$1.00")
    expect(page.get_by_test_id("refund-amount")).to_have_text("$19.00")
    page.get_by_test_id("refund-confirm").check()
    page.get_by_test_id("refund-submit").click()

    refund_status = page.get_by_test_id("refund-status")
    expect(refund_status).to_contain_text("Refund $19.00: Succeeded")
    assert Refund.objects.get().status == "succeeded"
    assert Subscription.objects.get(account=user).plan.tier == "free"
