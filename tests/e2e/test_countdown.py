"""The countdown script writes the days with the page's own suffix ("天" on Chinese pages, "d" by default)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

SCRIPT = Path(settings.BASE_DIR) / "static" / "js" / "countdown.js"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("suffix_attribute", "expected"),
    [('data-day-suffix="天"', r"^2天 \d\d:\d\d:\d\d$"), ("", r"^2d \d\d:\d\d:\d\d$")],
)
def test_countdown_days_use_the_page_suffix(browser, suffix_attribute, expected):
    context = browser.new_context()
    page = context.new_page()
    page.set_content(f'<p id="c" {suffix_attribute}><strong data-countdown></strong></p>')
    page.evaluate(
        "document.getElementById('c').setAttribute('data-resets-at',"
        " new Date(Date.now() + (2 * 86400 + 3 * 3600) * 1000).toISOString())"
    )
    page.add_script_tag(path=str(SCRIPT))
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(expected))
    context.close()
