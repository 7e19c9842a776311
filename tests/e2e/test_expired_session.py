"""Browser: after the session expires, an HTMX button sends the whole page to log in (with next)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_dialogs import subscribe_pro


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_expired_session_htmx_click_goes_to_login(logged_in_page):
    page = logged_in_page
    subscribe_pro(page)
    page.context.clear_cookies()  # the session is gone
    page.get_by_test_id("upgrade-max").click()
    page.wait_for_url("**/accounts/login/?next=/console/subscription/")
    expect(page.locator("input[name=password]")).to_have_count(1)
    expect(page.get_by_test_id("plan-dialog")).to_have_count(0)
