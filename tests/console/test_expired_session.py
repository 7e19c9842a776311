"""An HTMX request whose session expired sends the browser to log in (HX-Redirect, with `next` = the page
the user was on) instead of pasting the log-in page into a section."""

import pytest

from apps.billing.models import Payment

pytestmark = pytest.mark.django_db


def htmx(current_url: str) -> dict:
    return {"HX-Request": "true", "HX-Current-URL": f"http://testserver{current_url}"}


def test_htmx_fragment_request_gets_hx_redirect_to_login_with_the_page_as_next(client):
    response = client.get("/console/subscription/?page=2", headers=htmx("/console/subscription/"))
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/console/subscription/"
    assert "Location" not in response
    assert b"password" not in response.content


def test_chinese_page_redirects_to_the_chinese_login(client):
    response = client.get("/zh-hans/console/usage/", headers=htmx("/zh-hans/console/usage/?start=2026-11-01"))
    assert (
        response["HX-Redirect"]
        == "/zh-hans/accounts/login/?next=/zh-hans/console/usage/%3Fstart%3D2026-11-01"
    )


def test_htmx_post_after_expiry_redirects_and_changes_nothing(client):
    response = client.post(
        "/console/subscription/upgrade/", {"plan": "max"}, headers=htmx("/console/subscription/")
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=/console/subscription/"
    assert Payment.objects.count() == 0


def test_plain_request_still_gets_the_normal_login_redirect(client):
    response = client.get("/console/subscription/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/console/subscription/"
    assert "HX-Redirect" not in response


def test_signed_in_htmx_requests_are_untouched(user_client):
    fragment = user_client.get(
        "/console/subscription/?page=1",
        headers=htmx("/console/subscription/") | {"HX-Target": "billing-history"},
    )
    assert fragment.status_code == 200 and "HX-Redirect" not in fragment
    assert fragment.content.decode().lstrip().startswith('<section id="billing-history"')
