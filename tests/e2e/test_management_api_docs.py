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
