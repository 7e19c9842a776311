"""Production sends a Content-Security-Policy (django-csp) that the pages actually satisfy: no inline
script, style or event handler without the request's nonce, and every asset from this site."""

import importlib
import re

import pytest
from django.urls import reverse

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(monkeypatch, settings):
    """The CSP settings exactly as config/settings/production.py defines them."""
    monkeypatch.setenv("SECRET_KEY", "test-only")
    module = importlib.import_module("config.settings.production")
    assert "csp.middleware.CSPMiddleware" in module.MIDDLEWARE
    settings.MIDDLEWARE = module.MIDDLEWARE
    settings.CONTENT_SECURITY_POLICY = module.CONTENT_SECURITY_POLICY
    return module


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_page_complies(response):
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    # django-csp adds the nonce only to responses that used it (pages with an inline element).
    nonces = [v[len("'nonce-") : -1] for v in directives["script-src"] if v.startswith("'nonce-")]
    nonce = nonces[0] if nonces else None
    assert "'unsafe-inline'" not in directives["script-src"] + directives["style-src"]
    html = response.content.decode()
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if "src=" not in tag and 'type="application/json"' not in tag:
            assert nonce and f'nonce="{nonce}"' in tag, tag  # an inline script/style runs only with the nonce
    for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', html):
        assert src.startswith("/static/"), src  # vendored: nothing from another host
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers (onclick=…)
    assert 'style="' not in html  # no inline style attributes
    return html


def test_production_pages_satisfy_the_policy(production, client, user):
    credit(user, "10.00")
    make_key(account=user, kind=ApiKeyKind.PAYG)
    make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    assert_page_complies(client.get(reverse("pricing")))
    assert_page_complies(client.get("/accounts/login/"))
    docs = assert_page_complies(client.get("/api/v1/docs/"))
    assert "SwaggerUIBundle" in docs  # the inline script is there, with the nonce
    client.force_login(user)
    for name in (
        "console:home",
        "console:subscription",
        "console:payg",
        "console:usage",
        "console:management_keys",
    ):
        html = assert_page_complies(client.get(reverse(name)))
        assert "/static/js/dialogs.js" in html
    payg = assert_page_complies(client.get(reverse("console:payg")))
    assert 'data-dialog-open="credits-breakdown"' in payg
    htmx = client.get(reverse("console:payg"), headers={"HX-Request": "true"})
    assert "Content-Security-Policy" in htmx


def test_form_action_allows_the_stripe_checkout_redirect(production, client):
    assert policy(client.get(reverse("pricing")))["form-action"] == ["'self'", "https://checkout.stripe.com"]


def test_the_nonce_changes_per_request(production, client):
    first = policy(client.get("/api/v1/docs/"))["script-src"]
    second = policy(client.get("/api/v1/docs/"))["script-src"]
    assert first[0] == second[0] == "'self'"
    assert first[1].startswith("'nonce-") and second[1].startswith("'nonce-")
    assert first != second
