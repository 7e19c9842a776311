"""Browser journey (issue #22): a pay-as-you-go key is created with limits from the create form, then its
limits are changed in the dialog its row menu opens (HTMX + static/js/dialogs.js, no inline script)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.api_keys.models import ApiKey


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_create_a_key_with_limits_then_edit_them_in_the_dialog(logged_in_page, user):
    page = logged_in_page
    page.goto("/console/payg/")
    page.fill("#api-key-name-payg", "batch")
    page.get_by_test_id("create-key-limits").locator("summary").click()
    page.fill("#create-payg-limits-spend_limit", "5")
    page.select_option("#create-payg-limits-spend_limit_period", "week")
    page.fill("#create-payg-limits-rpm_limit", "10")
    page.click("form.api-key-create button[type=submit]")

    reveal = page.locator("dialog[data-api-key-reveal]")
    expect(reveal).to_be_visible()
    key = ApiKey.objects.get(account=user)
    assert (key.spend_limit, key.spend_limit_period, key.rpm_limit, key.has_limits) == (
        Decimal("5"),
        "week",
        10,
        True,
    )
    reveal.get_by_test_id("reveal-done").click()  # not copied: it asks once more
    reveal.get_by_role("button", name="Yes, close").click()
    expect(page.locator("dialog[data-api-key-reveal]")).to_have_count(0)

    row = page.locator(f"#api-key-{key.pk}")
    row.get_by_test_id("key-actions").locator("summary").click()
    row.get_by_test_id("key-limits-open").click()
    dialog = page.get_by_test_id("key-limits-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Limits of “batch”")
    assert page.evaluate("document.querySelector('[data-testid=key-limits-dialog]').matches(':modal')")
    expect(dialog.locator(f"#key-{key.pk}-limits-rpm_limit")).to_have_value("10")
    dialog.locator(f"#key-{key.pk}-limits-rpm_limit").fill("20")
    dialog.get_by_role("button", name="Save limits").click()

    expect(page.get_by_test_id("key-limits-dialog")).to_have_count(0)
    expect(page.locator("#api-keys-payg")).to_contain_text("Limits of “batch” saved.")
    key.refresh_from_db()
    assert (key.spend_limit, key.spend_limit_period, key.rpm_limit) == (Decimal("5"), "week", 20)

    # Cancel closes the dialog and changes nothing.
    row = page.locator(f"#api-key-{key.pk}")
    row.get_by_test_id("key-actions").locator("summary").click()
    row.get_by_test_id("key-limits-open").click()
    dialog = page.get_by_test_id("key-limits-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(f"#key-{key.pk}-limits-rpm_limit").fill("99")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("key-limits-dialog")).not_to_be_visible()
    key.refresh_from_db()
    assert key.rpm_limit == 20
