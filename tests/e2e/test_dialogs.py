"""Dialogs are real modals: focus moves in, Escape and Cancel close them without a reload, and focus goes
back to the control that opened them (static/js/dialogs.js)."""

import pytest
from playwright.sync_api import expect

from apps.api_keys.models import ApiKeyKind
from apps.extra_usage.models import ExtraUsageSetting
from tests.api_keys.factories import make_key


def subscribe_pro(page):
    page.goto("/console/subscription/")
    page.get_by_test_id("subscribe-pro").click()
    page.wait_for_url("**/billing/sandbox/checkout/**")
    page.get_by_test_id("checkout-pay").click()
    page.wait_for_url("**/console/subscription/")


def is_modal(locator) -> bool:
    return locator.evaluate("dialog => dialog.matches(':modal')")


def wait_until_modal(page, testid: str) -> None:
    """A dialog HTMX swapped in becomes modal when HTMX has settled it (htmx:load)."""
    page.wait_for_function(
        "testid => { const d = document.querySelector(`[data-testid='${testid}']`); return d && d.matches(':modal'); }",
        arg=testid,
    )


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
    wait_until_modal(page, "plan-dialog")
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
    wait_until_modal(page, "refund-dialog")
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


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_downgrade_dialog_escape_backdrop_and_red_cancel_subscription(logged_in_page):
    page = logged_in_page
    subscribe_pro(page)
    page.evaluate("window.notReloaded = true")
    opener = page.get_by_test_id("change-free")
    opener.click()
    dialog = page.get_by_test_id("plan-dialog")
    expect(dialog).to_be_visible()
    wait_until_modal(page, "plan-dialog")
    assert focus_is_inside(dialog)
    # Ending the subscription is the destructive choice: its button is red.
    assert "button-danger" in dialog.get_by_test_id("confirm-change").get_attribute("class")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    opener.click()
    wait_until_modal(page, "plan-dialog")
    page.mouse.click(5, 5)  # the backdrop
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert page.evaluate("window.notReloaded") is True


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_extra_usage_dialog_is_modal_and_cancel_turns_the_switch_back_off(logged_in_page, user):
    make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    page = logged_in_page
    page.goto("/console/subscription/")
    page.evaluate("window.notReloaded = true")
    page.locator("#extra-usage").get_by_test_id("extra-usage-switch").check()
    dialog = page.get_by_test_id("extra-usage-dialog")
    expect(dialog).to_be_visible()
    wait_until_modal(page, "extra-usage-dialog")
    assert focus_is_inside(dialog)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    switch = page.locator("#extra-usage").get_by_test_id("extra-usage-switch")
    expect(switch).to_be_focused()
    expect(switch).not_to_be_checked()

    switch.check()
    wait_until_modal(page, "extra-usage-dialog")
    dialog.get_by_test_id("extra-usage-cancel").click()
    expect(dialog).to_be_hidden()
    expect(switch).not_to_be_checked()
    assert page.evaluate("window.notReloaded") is True
    assert ExtraUsageSetting.objects.filter(account=user, enabled=True).count() == 0


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_key_delete_asks_in_a_styled_red_confirmation_not_the_browser_prompt(logged_in_page, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="deploy bot")
    page = logged_in_page
    prompts = []
    page.on(
        "dialog", lambda browser_dialog: (prompts.append(browser_dialog.message), browser_dialog.dismiss())
    )
    page.goto("/console/management-keys/")
    row = page.locator(f"#api-key-{key.pk}")
    row.get_by_test_id("key-actions").locator("summary").click()
    delete = row.get_by_role("button", name="Delete")
    delete.click()

    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm).to_be_visible()
    assert is_modal(confirm)
    expect(confirm).to_contain_text("Delete “deploy bot”?")
    ok = confirm.get_by_test_id("confirm-ok")
    expect(ok).to_have_text("Delete")
    assert "button-danger" in ok.get_attribute("class")
    confirm.get_by_test_id("confirm-cancel").click()
    expect(confirm).to_have_count(0)
    expect(delete).to_be_focused()
    key.refresh_from_db()
    assert key.deleted_at is None

    delete.click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("confirm-dialog")).to_have_count(0)
    delete.click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.locator(f"#api-key-{key.pk}")).to_have_count(0)
    key.refresh_from_db()
    assert key.deleted_at is not None
    assert prompts == []  # the browser's own confirm() never appeared


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_show_once_secret_asks_copied_it_before_closing(logged_in_page):
    page = logged_in_page
    page.goto("/console/management-keys/")
    page.fill("#api-key-name-management", "deploy bot")
    page.click("form.api-key-create button[type=submit]")
    reveal = page.locator("dialog[data-api-key-reveal]")
    page.wait_for_function("() => document.querySelector('dialog[data-api-key-reveal]')?.matches(':modal')")
    question = reveal.locator("[data-reveal-ask]")
    expect(question).to_be_hidden()

    page.keyboard.press("Escape")  # not copied yet: the dialog stays and asks
    expect(reveal).to_be_visible()
    expect(question).to_be_visible()
    expect(question).to_contain_text("Copied it?")
    reveal.get_by_role("button", name="Back to the key").click()
    expect(question).to_be_hidden()
    expect(reveal).to_be_visible()

    reveal.get_by_test_id("reveal-done").click()
    expect(question).to_be_visible()
    reveal.get_by_role("button", name="Yes, close").click()
    expect(page.locator("dialog[data-api-key-reveal]")).to_have_count(0)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_copied_secret_closes_on_escape_without_asking(logged_in_page):
    page = logged_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/console/management-keys/")
    page.fill("#api-key-name-management", "deploy bot")
    page.click("form.api-key-create button[type=submit]")
    reveal = page.locator("dialog[data-api-key-reveal]")
    reveal.locator("button.api-key-copy").click()
    expect(reveal.locator("button.api-key-copy")).to_have_text("Copied")
    page.keyboard.press("Escape")
    expect(page.locator("dialog[data-api-key-reveal]")).to_have_count(0)
