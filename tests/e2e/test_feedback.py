"""Feedback where the action is (issue 19): a toast next to the control that acted, and submit buttons
disabled while their request runs."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_dialogs import subscribe_pro, wait_until_modal


def box(locator) -> dict:
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; }"
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_you_are_now_on_max_appears_next_to_the_plan_choice_not_at_the_top(logged_in_page):
    page = logged_in_page
    subscribe_pro(page)
    page.get_by_test_id("upgrade-max").click()
    wait_until_modal(page, "plan-dialog")
    page.evaluate(
        """() => document.addEventListener("htmx:beforeSend", (event) => {
             window.submitDisabled = event.detail.elt.querySelector("button[type=submit]").disabled;
           }, {once: true})"""
    )
    page.get_by_test_id("confirm-upgrade").click()

    toast = page.get_by_test_id("toast")
    expect(toast).to_have_text("You are now on the Max plan.×")
    assert page.evaluate("window.submitDisabled") is True  # disabled while the request ran
    expect(page.get_by_test_id("plan-card")).to_have_attribute("data-tier", "max")
    viewport = page.viewport_size
    where = box(toast)
    assert where["top"] >= 0 and where["bottom"] <= viewport["height"]  # on screen
    options = box(page.get_by_test_id("plan-options"))
    assert abs(where["top"] - options["bottom"]) < 40  # right under the plan choice that was pressed
    # Not in the page's message list at the top, nor again after a reload.
    expect(page.locator("main .messages")).not_to_contain_text("You are now on")
    page.reload()
    expect(page.get_by_text("You are now on the Max plan.")).to_have_count(0)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_toast_follows_the_extra_usage_switch_and_fades_only_when_it_is_not_an_error(logged_in_page, user):
    from apps.api_keys.models import ApiKeyKind
    from tests.api_keys.factories import make_key

    make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    page = logged_in_page
    page.goto("/console/subscription/")
    page.locator("#extra-usage").get_by_test_id("extra-usage-switch").check()
    wait_until_modal(page, "extra-usage-dialog")
    page.get_by_test_id("extra-usage-select").click()
    toast = page.get_by_test_id("toast")
    expect(toast).to_contain_text("Extra Usage is on.")
    section = box(page.locator("#extra-usage"))
    where = box(toast)
    assert section["top"] <= where["top"] <= section["bottom"] + 40
    toast.get_by_role("button", name="Close").click()
    expect(toast).to_have_count(0)
