"""Browser: the API docs page renders the management operations from vendored Swagger UI (no CDN)."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_docs_page_renders_the_operations_from_local_assets(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs/", wait_until="domcontentloaded")
    page.get_by_text("Plan, Flow rates and quota windows").wait_for(timeout=30_000)
    assert page.get_by_text("/api/v1/management/statistics/timeseries").first.is_visible()
    assert page.locator("button.authorize").is_visible()  # bearer auth is documented
    external = [
        url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")
    ]
    assert external == []


def test_swagger_ui_labels_are_chinese_on_the_chinese_docs(page):
    page.goto("/api/v1/docs/?lang=zh-hans", wait_until="domcontentloaded")
    authorize = page.locator("button.authorize")
    authorize.wait_for(timeout=30_000)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    from playwright.sync_api import expect

    expect(authorize).to_contain_text("授权")
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="试一试")).to_be_visible()
    expect(page.get_by_text("Try it out", exact=True)).to_have_count(0)


def test_swagger_ui_stays_english_on_the_english_docs(page):
    page.goto("/api/v1/docs/", wait_until="domcontentloaded")
    authorize = page.locator("button.authorize")
    authorize.wait_for(timeout=30_000)
    from playwright.sync_api import expect

    expect(authorize).to_contain_text("Authorize")
