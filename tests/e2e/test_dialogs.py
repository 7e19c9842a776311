"""Dialogs are real modals: focus moves in, Escape and Cancel close them without a reload, and focus goes
back to the control that opened them (static/js/dialogs.js)."""

import pytest
from playwright.sync_api import expect


def subscribe_pro(page):
    page.goto("/console/subscription/")
    page.get_by_test_id("subscribe-pro").click()
    page.wait_for_url("**/billing/sandbox/checkout/**")
    page.get_by_test_id("checkout-pay").click()
    page.wait_for_url("**/console/subscription/")


def is_modal(locator) -> bool:
    return locator.evaluate("dialog => dialog.matches(':modal')")


def focus_is_inside(locator) -> bool:
    return locator.evaluate("dialog => dialog.contains(document.activeElement)")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_upgrade_dialog_escape_cancel_and_focus(logged_in_page):
    page = logged_in_page
    subscribe_pro(page)
    page.evaluate("window.notReloaded = true")
    opener = page.get_by_test_id("upgrade-max")

    opener.click()
    dialog = page.get_by_test_id("plan-dialog")
    expect(dialog).to_be_visible()
    assert is_modal(dialog)
    assert focus_is_inside(dialog)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    opener.click()
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("dialog-cancel").click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("/console/subscription/")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_refund_dialog_is_modal_and_close_does_not_reload(logged_in_page):
    page = logged_in_page
    subscribe_pro(page)
    page.evaluate("window.notReloaded = true")
    opener = page.get_by_test_id("refund-button")
    opener.click()
    dialog = page.get_by_test_id("refund-dialog")
    expect(dialog).to_be_visible()
    assert is_modal(dialog)
    assert focus_is_inside(dialog)
    dialog.get_by_test_id("dialog-cancel").click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert page.evaluate("window.notReloaded") is True


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_dialog_opened_as_its_own_page_keeps_the_link_back(logged_in_page):
    """The no-JavaScript fallback URL: the dialog comes with the page and Cancel leads back to it."""
    page = logged_in_page
    subscribe_pro(page)
    page.goto("/console/subscription/upgrade/?plan=max")
    dialog = page.get_by_test_id("plan-dialog")
    expect(dialog).to_be_visible()
    assert not is_modal(dialog)
    dialog.get_by_test_id("dialog-cancel").click()
    page.wait_for_url("**/console/subscription/")
    expect(page.get_by_test_id("plan-dialog")).to_have_count(0)
