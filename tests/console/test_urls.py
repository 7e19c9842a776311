"""Every console page answers at the URL (and under the URL name) it had before the pages moved into
apps/console: English unprefixed, Chinese under /zh-hans/."""

import uuid

import pytest
from django.urls import resolve, reverse
from django.utils import translation

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key

UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# (URL name, reverse args, path without the language prefix)
CONSOLE_URLS = [
    ("pricing", [], "/pricing/"),
    ("console:home", [], "/console/"),
    ("console:subscription", [], "/console/subscription/"),
    ("console:subscribe", [], "/console/subscription/subscribe/"),
    ("console:subscription_upgrade", [], "/console/subscription/upgrade/"),
    ("console:subscription_schedule", [], "/console/subscription/change/"),
    ("console:subscription_undo", [], "/console/subscription/change/undo/"),
    ("console:payment_receipt", [UUID], f"/console/billing/receipts/{UUID}/"),
    ("console:refund_dialog", [UUID], f"/console/subscription/refund/{UUID}/"),
    ("console:refund_detail", [7], "/console/refunds/7/"),
    ("console:payg", [], "/console/payg/"),
    ("console:payg_topup", [], "/console/payg/top-up/"),
    ("console:payg_auto_topup", [], "/console/payg/auto-top-up/"),
    ("console:payg_low_balance_alert", [], "/console/payg/low-balance-alert/"),
    ("console:payg_sandbox_card", [], "/console/payg/card/"),
    ("console:usage", [], "/console/usage/"),
    ("console:management_keys", [], "/console/management-keys/"),
    ("console:api_key_create", ["payg"], "/console/keys/payg/create/"),
    ("console:api_key_detail", [7], "/console/keys/7/"),
    ("console:api_key_rename", [7], "/console/keys/7/rename/"),
    ("console:api_key_set_status", [7], "/console/keys/7/status/"),
    ("console:api_key_rotate", [7], "/console/keys/7/rotate/"),
    ("console:api_key_delete", [7], "/console/keys/7/delete/"),
    ("console:extra_usage", [], "/console/extra-usage/"),
    ("console:extra_usage_select", [], "/console/extra-usage/select/"),
    ("console:extra_usage_enable", [], "/console/extra-usage/enable/"),
    ("console:extra_usage_create_key", [], "/console/extra-usage/create-key/"),
    ("console:extra_usage_disable", [], "/console/extra-usage/disable/"),
]

# Pages a signed-in customer opens with a plain GET.
GET_PAGES = [
    "/pricing/",
    "/console/",
    "/console/subscription/",
    "/console/subscription/subscribe/?plan=pro",
    "/console/payg/",
    "/console/usage/",
    "/console/management-keys/",
    "/console/extra-usage/select/",
]


@pytest.mark.parametrize(("name", "args", "path"), CONSOLE_URLS)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_every_console_url_keeps_its_name_and_path(name, args, path, prefix):
    with translation.override("zh-hans" if prefix else "en"):
        assert reverse(name, args=args) == prefix + path
        match = resolve(prefix + path)
    assert match.view_name == name
    assert match.func.__module__.startswith("apps.console.views.")


def test_the_language_switch_keeps_its_url():
    assert reverse("language_switch") == "/i18n/switch/"
    assert resolve("/i18n/switch/").func.__module__ == "apps.console.views.home"


@pytest.mark.django_db
@pytest.mark.parametrize("path", GET_PAGES)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_every_console_page_loads_at_its_old_path(user_client, path, prefix):
    response = user_client.get(prefix + path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_a_key_page_loads_at_its_old_path(user_client, user, prefix):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="mine")
    assert user_client.get(f"{prefix}/console/keys/{key.pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", [p for p in GET_PAGES if p.startswith("/console/")])
def test_console_pages_ask_for_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
