import re

import pytest
from playwright.sync_api import expect

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.extra_usage.models import ExtraUsageSetting
from tests.api_keys.factories import make_key


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_turn_extra_usage_on_with_a_new_key_reselect_then_turn_it_off(logged_in_page, user):
    spare, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    page = logged_in_page
    page.goto("/console/subscription/")
    section = page.locator("#extra-usage")
    expect(section).to_have_attribute("data-enabled", "false")

    # Turning the switch on opens the "Select a key" dialog; create a key right there.
    section.get_by_test_id("extra-usage-switch").check()
    dialog = page.get_by_test_id("extra-usage-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("extra-usage-key-choice")).to_contain_text("spare")
    dialog.locator("#extra-usage-new-key").fill("production-app")
    dialog.get_by_test_id("extra-usage-create").click()

    reveal = page.get_by_test_id("extra-usage-reveal")
    expect(reveal).to_be_visible()
    secret = reveal.locator(".api-key-secret").inner_text().strip()
    assert re.fullmatch(r"sk-ai-v1-[0-9a-f]{64}", secret)
    reveal.get_by_role("button", name="Done").click()  # not copied: it asks first
    expect(reveal).to_contain_text("Copied it?")
    reveal.get_by_role("button", name="Yes, close").click()
    expect(page.get_by_test_id("extra-usage-reveal")).to_have_count(0)
    created = ApiKey.objects.get(account=user, name="production-app")
    card = page.get_by_test_id("extra-usage-key")
    expect(card).to_contain_text("production-app")
    expect(card).to_contain_text(created.masked)
    expect(page.get_by_test_id("extra-usage-spent")).to_have_text("$0.00")
    assert secret not in page.content()

    # Reselect another key.
    card.get_by_test_id("extra-usage-reselect").click()
    dialog = page.get_by_test_id("extra-usage-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("extra-usage-key-choice").select_option(str(spare.pk))
    dialog.get_by_test_id("extra-usage-select").click()
    expect(page.get_by_test_id("extra-usage-key")).to_contain_text("spare")
    assert ExtraUsageSetting.objects.get(account=user).payg_key_id == spare.pk

    # Turn it off.
    page.locator("#extra-usage").get_by_test_id("extra-usage-switch").uncheck()
    expect(page.locator("#extra-usage")).to_have_attribute("data-enabled", "false")
    expect(page.get_by_test_id("extra-usage-key")).to_have_count(0)
    assert ExtraUsageSetting.objects.get(account=user).enabled is False
