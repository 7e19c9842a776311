import re

import pytest
from playwright.sync_api import expect

from apps.api_keys.models import ApiKey

SECRET_RE = re.compile(r"^sk-mg-v1-[0-9a-f]{64}$")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_create_a_management_key_see_it_once_then_only_masked(logged_in_page, user):
    page = logged_in_page
    page.goto("/console/management-keys/")
    page.fill("#api-key-name-management", "deploy bot")
    page.click("form.api-key-create button[type=submit]")

    dialog = page.locator("dialog[data-api-key-reveal]")
    expect(dialog).to_be_visible()
    secret = dialog.locator(".api-key-secret").inner_text().strip()
    assert SECRET_RE.match(secret)
    expect(dialog.locator("button.api-key-copy")).to_be_visible()
    expect(dialog).to_contain_text("it will not be shown again")
    key = ApiKey.objects.get(account=user)
    expect(page.locator(f"#api-key-{key.pk} .api-key-masked")).to_have_text(key.masked)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dialog.locator("button.api-key-copy").click()
    expect(dialog.locator("button.api-key-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("dialog[data-api-key-reveal]")).to_have_count(0)

    page.reload()
    expect(page.locator(f"#api-key-{key.pk}")).to_contain_text("deploy bot")
    expect(page.locator(f"#api-key-{key.pk} .api-key-masked")).to_have_text(key.masked)
    assert secret not in page.content()
    assert secret[13:-4] not in page.content()
