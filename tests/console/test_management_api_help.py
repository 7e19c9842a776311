"""The "Management API" help section on /console/management-keys/."""

import pytest

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db


def test_help_shows_a_curl_example_with_the_users_key_prefix_and_the_docs_link(user, user_client):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    html = user_client.get("/console/management-keys/").content.decode()
    assert key.prefix == secret[:13]
    assert (
        f'curl -H "Authorization: Bearer {key.prefix}…" '
        "http://testserver/api/v1/management/subscription/detail"
    ) in html
    assert secret not in html  # never the full secret
    assert 'href="/api/v1/docs/"' in html


def test_help_without_a_key_shows_the_bare_prefix(user_client):
    html = user_client.get("/console/management-keys/").content.decode()
    assert "Bearer sk-mg-v1-…" in html


def test_help_in_chinese(user_client):
    html = user_client.get("/zh-hans/console/management-keys/").content.decode()
    assert "使用管理 API" in html
    assert 'href="/api/v1/docs/?lang=zh-hans"' in html  # the docs built in Chinese
