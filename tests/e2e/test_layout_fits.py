"""Every console page fits a phone (390 px) and a laptop (1366 px), in English and in Chinese (issue 19):
the document is no wider than the viewport, no table is wider than its container, and no table header,
date or badge wraps (Chinese headers used to break one character per line).

The account has what makes pages wide: a paid Pro cycle upgraded to Max and refunded, keys of every kind
with long names, simulated traffic (usage tables and charts), wallet history. Pages are the console's own
plus every console page linked from them (key details, refund details…), like the CI smoke crawl."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.refunds.models import Refund
from apps.refunds.services import refund_request
from tests.api_keys.factories import make_key
from tests.notifications.factories import endpoint_with_failed_delivery
from tests.refunds.factories import paid_cycle, upgrade_payment

START_PAGES = [
    "/pricing/",
    "/console/",
    "/console/subscription/",
    "/console/subscription/subscribe/?plan=ultra",
    "/console/subscription/upgrade/?plan=ultra",
    "/console/subscription/change/?plan=pro",
    "/console/payg/",
    "/console/usage/",
    "/console/usage/?range=30d",
    "/console/management-keys/",
    "/console/extra-usage/select/",
    "/console/account/",
    "/console/activity/",
    "/console/notifications/",
    "/console/notifications/preferences/",
    "/console/webhooks/",
]
WIDTHS = [(390, 844), (1366, 900)]
MAX_PAGES = 40

# Returns a list of problems on the page (empty when it fits).
MEASURE = """() => {
  const problems = [];
  const doc = document.documentElement;
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const label = (el) => (el.getAttribute("data-testid") || el.textContent || "").trim().slice(0, 40);
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`document ${doc.scrollWidth}px wide in a ${doc.clientWidth}px viewport; widest: ` +
                  Array.from(document.querySelectorAll("body *"))  // the widest culprits, innermost last
                    .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1).slice(-3)
                    .map((el) => `${el.tagName.toLowerCase()} "${label(el)}"`).join(", "));
  }
  for (const table of document.querySelectorAll("table")) {
    if (!visible(table)) continue;
    const box = table.parentElement.getBoundingClientRect();
    const width = table.getBoundingClientRect().width;
    if (width > box.width + 1) {
      problems.push(`table "${label(table.querySelector("th") || table)}" ${Math.round(width)}px ` +
                    `wide in a ${Math.round(box.width)}px container; columns ` +
                  Array.from(table.querySelectorAll("tr:first-child > *"),
                             (cell) => `${label(cell).slice(0, 15)}=${Math.round(cell.getBoundingClientRect().width)}`).join(", "));
    }
  }
  // One line each: header cells, dates, badges. The lines are told apart by the tops of the text's line
  // boxes (a cell is as tall as its row, so its height says nothing).
  const lines = (el) => {
    const lineHeight = parseFloat(getComputedStyle(el).fontSize);
    const tops = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) {
        if (rect.width > 0 && !tops.some((top) => Math.abs(top - rect.top) < lineHeight / 2)) {
          tops.push(rect.top);
        }
      }
    }
    return tops.length;
  };
  for (const el of document.querySelectorAll("thead th, time, .badge, .nowrap")) {
    if (!visible(el) || el.closest("dialog:not([open])")) continue;
    if (el.textContent.trim().length > 1 && lines(el) > 1) {
      problems.push(`${el.tagName.toLowerCase()} "${label(el)}" wraps over ${lines(el)} lines`);
    }
  }
  return problems;
}"""

LINKS = """() => Array.from(document.querySelectorAll("a[href]"), (a) => a.getAttribute("href"))"""


@pytest.fixture
def busy_account(user, settings, django_capture_on_commit_callbacks):
    paid_at = timezone.now() - timedelta(hours=3)
    paid_cycle(user, "pro", paid_at=paid_at)
    upgrade_payment(user, to="max", amount="80.00", paid_at=paid_at + timedelta(hours=1))
    for kind, name in [
        (ApiKeyKind.SUBSCRIPTION, "Production backend (eu-west-1) — nightly batch summariser"),
        (ApiKeyKind.PAYG, "Pay-as-you-go key for the data-science notebook server"),
        (ApiKeyKind.MANAGEMENT, "Grafana dashboard exporter, read-only statistics"),
    ]:
        make_key(account=user, kind=kind, name=name)
    with django_capture_on_commit_callbacks(execute=True):  # the real flow: refund badge and detail page
        refund_request(account=user)
    assert Refund.objects.get(account=user).status == "succeeded"
    paid_cycle(user, "max", paid_at=timezone.now() - timedelta(hours=1))  # subscribed again
    call_command("simulate_traffic", email=[user.email], days=1, verbosity=0)
    endpoint_with_failed_delivery(user, settings)  # the webhooks page and its delivery log
    return user


def console_links(page, seen: set[str]) -> list[str]:
    found = []
    for href in page.evaluate(LINKS):
        parts = urlsplit(href)
        path = parts.path.removeprefix("/zh-hans")
        if parts.netloc or not path.startswith("/console/") or path.endswith(".csv"):
            continue
        url = path + (f"?{parts.query}" if parts.query else "")
        if url not in seen:
            seen.add(url)
            found.append(url)
    return found


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_every_console_page_fits_phone_and_laptop(busy_account, logged_in_page, prefix):
    page = logged_in_page
    queue = list(START_PAGES)
    seen = set(queue)
    problems = {}
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.pop(0)
        visited += 1
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(prefix + url)
            assert response.status == 200, f"{prefix}{url}: {response.status}"
            found = page.evaluate(MEASURE)
            if found:
                problems[f"{prefix}{url} @ {width}px"] = found
        queue.extend(console_links(page, seen))
    assert visited >= len(START_PAGES) + 2  # the crawl reached linked pages (key and refund details)
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())


ENTRANCE_PAGES = [
    "/pricing/",
    "/accounts/login/",
    "/accounts/signup/?next=%2Fconsole%2Fsubscription%2Fsubscribe%2F%3Fplan%3Dpro",
    "/accounts/password/reset/",
    "/accounts/confirm-email/",
]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_signed_out_pages_fit_phone_and_laptop(page, prefix):
    problems = {}
    for url in ENTRANCE_PAGES:
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(prefix + url)
            assert response.status == 200, f"{prefix}{url}: {response.status}"
            found = page.evaluate(MEASURE)
            if found:
                problems[f"{prefix}{url} @ {width}px"] = found
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())


# A page only a POST shows: the window reset's confirmation (without JS the reset button asks first).
POST_WITHOUT_CONFIRM = """(action) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrfmiddlewaretoken";
  token.value = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  form.append(token);
  document.body.append(form);
  form.submit();
}"""


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_window_reset_confirmation_fits_phone_and_laptop(busy_account, logged_in_page, prefix):
    page = logged_in_page
    problems = {}
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(prefix + "/console/subscription/")
        with page.expect_navigation():
            page.evaluate(POST_WITHOUT_CONFIRM, prefix + "/console/subscription/window-reset/")
        assert page.get_by_test_id("window-reset-confirm").count() == 1
        found = page.evaluate(MEASURE)
        if found:
            problems[f"{prefix} window reset confirmation @ {width}px"] = found
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
