"""Browser journey (issue #22): the 5-hour card's "Reset window" asks with the resets left, then resets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.plans.models import Subscription
from apps.usage.services import meter_authorize
from tests.api_keys.factories import make_key
from tests.plans.factories import put_on_plan


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_reset_the_5_hour_window_in_the_browser(logged_in_page, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=1), end=now + timedelta(days=29))
    secret = make_key(account=user)[1]
    meter_authorize(
        request_id="e2e", api_key=secret, model="deepseek/deepseek-chat", estimated_cost_usd=Decimal("0.01")
    )
    page = logged_in_page
    prompts = []
    page.on("dialog", lambda dialog: (prompts.append(dialog.message), dialog.dismiss()))
    page.goto("/console/subscription/")
    resets = page.get_by_test_id("window-resets")
    expect(resets).to_contain_text("Resets left this billing cycle: 4 of 4")

    page.get_by_test_id("window-reset").click()
    confirm = page.get_by_test_id("confirm-dialog")  # the styled confirmation (static/js/dialogs.js)
    expect(confirm).to_contain_text("You have 4 of 4 resets left")
    confirm.get_by_test_id("confirm-ok").click()

    expect(page.get_by_test_id("window-resets")).to_contain_text("Resets left this billing cycle: 3 of 4")
    expect(page.get_by_test_id("quota-five_hour").get_by_test_id("idle")).to_be_visible()
    assert Subscription.objects.get(account=user).window_resets_used == 1
    assert prompts == []  # the browser's own confirm() never appeared
