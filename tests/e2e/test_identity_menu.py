"""Browser: the identity menu in the site header (issue 19 item 6) — account settings, language and log out
in one compact menu that opens on a phone without leaving the screen."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_menu(page):
    page.get_by_test_id("identity-menu-toggle").click()
    menu = page.locator('[data-testid="identity-menu"] > ul')
    menu.wait_for(state="visible")
    return menu


@pytest.mark.parametrize("width", [390, 1366])
def test_the_menu_opens_inside_the_screen_and_leads_to_account_settings(logged_in_page, user, width):
    page = logged_in_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto("/console/")
    header = page.locator("header.site-header")
    # The scattered links are gone from the header bar: they live in the menu.
    assert header.get_by_test_id("nav-mfa").is_visible() is False
    assert header.get_by_role("button", name="Log out").is_visible() is False
    assert user.email in page.get_by_test_id("identity-menu-toggle").inner_text()

    menu = open_menu(page)
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for testid in ("nav-account", "nav-mfa", "language-zh-hans", "nav-logout"):
        assert menu.get_by_test_id(testid).is_visible(), testid
    menu.get_by_test_id("nav-account").click()
    page.wait_for_url("**/console/account/")


def test_the_menu_switches_the_language_and_logs_out(logged_in_page, user):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/console/usage/")
    open_menu(page).get_by_test_id("language-zh-hans").click()
    page.wait_for_url("**/zh-hans/console/usage/")
    menu = open_menu(page)
    assert menu.get_by_test_id("nav-account").inner_text() == "账号设置"

    menu.get_by_test_id("nav-logout").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("identity-menu").count() == 0
    page.goto("/console/")
    assert "/accounts/login/" in page.url
