"""Sensitive actions (creating or rotating keys of every kind, changing the payment method) ask for
re-authentication unless the session signed in or re-authenticated within the timeout; nothing changes
until the user has confirmed, and the suspended form post is carried out once they have."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_hash
from apps.billing.models import PaymentMethod
from tests.accounts.test_mfa import NOW, totp
from tests.api_keys.factories import make_key
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

TOO_OLD = settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1
REAUTH = "/accounts/reauthenticate/"


def htmx(current_url: str) -> dict:
    return {"HX-Request": "true", "HX-Current-URL": f"http://testserver{current_url}"}


def state(user) -> tuple:
    return (
        sorted(ApiKey.objects.filter(account=user).values_list("name", "secret_hash")),
        PaymentMethod.objects.filter(account=user).count(),
    )


@pytest.fixture
def clock(monkeypatch):
    """allauth's TOTP clock fixed at NOW, as in tests/accounts/test_mfa.py."""
    monkeypatch.setattr(totp_auth, "time", type("Clock", (), {"time": staticmethod(lambda: NOW)}))


@pytest.fixture
def stale_client(client, user):
    """Signed in, but longer ago than the re-authentication timeout."""
    sign_in(client, user, seconds_ago=TOO_OLD)
    return client


def actions(user) -> list[tuple[str, dict]]:
    key, _secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="existing")
    return [
        ("/console/keys/subscription/create/", {"name": "new sub"}),
        ("/console/keys/payg/create/", {"name": "new payg"}),
        ("/console/keys/management/create/", {"name": "new mgmt"}),
        (f"/console/keys/{key.pk}/rotate/", {"confirm": "1"}),
        ("/console/extra-usage/create-key/", {"name": "extra"}),
        ("/console/payg/card/", {"card_number": "4242424242424242"}),
    ]


def test_without_recent_authentication_every_sensitive_post_is_sent_to_reauthenticate(stale_client, user):
    for url, data in actions(user):
        before = state(user)
        response = stale_client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"] == f"{REAUTH}?next={url.replace('/', '%2F')}"
        assert state(user) == before, url


def test_an_htmx_post_gets_hx_redirect_to_reauthenticate_and_back_to_its_page(stale_client, user):
    for url, data in actions(user):
        before = state(user)
        response = stale_client.post(url, data, headers=htmx("/console/subscription/"))
        assert response.status_code == 200, url
        assert response["HX-Redirect"] == f"{REAUTH}?next=/console/subscription/", url
        assert state(user) == before, url


def test_a_never_recorded_sign_in_also_asks(client, user):
    client.force_login(user)  # a session with no record of how it signed in
    response = client.post("/console/keys/subscription/create/", {"name": "x"})
    assert response["Location"].startswith(REAUTH)
    assert not ApiKey.objects.filter(account=user).exists()


def test_the_rotate_confirmation_page_itself_needs_no_reauthentication(stale_client, user):
    key, _secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="k")
    page = stale_client.get(f"/console/keys/{key.pk}/rotate/")
    assert page.status_code == 200
    assert "Rotate" in page.content.decode()


def test_after_reauthenticating_with_the_password_the_suspended_post_is_carried_out(
    stale_client, user, password
):
    asked = stale_client.post("/console/keys/management/create/", {"name": "ci"})
    wrong = stale_client.post(asked["Location"], {"password": "not-it"})
    assert wrong.status_code == 200
    assert not ApiKey.objects.filter(account=user).exists()

    confirmed = stale_client.post(asked["Location"], {"password": password})
    assert confirmed.status_code == 200
    key = ApiKey.objects.get(account=user)
    assert (key.kind, key.name) == (ApiKeyKind.MANAGEMENT, "ci")
    assert "sk-mg-v1-" in confirmed.content.decode()
    # Recently re-authenticated: the next sensitive action goes straight through.
    again = stale_client.post("/console/keys/payg/create/", {"name": "second"})
    assert again.status_code == 200
    assert ApiKey.objects.filter(account=user).count() == 2


@pytest.mark.usefixtures("clock")
def test_rotating_after_reauthenticating_with_a_totp_code(stale_client, user):
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(user, secret)
    key, old_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="wallet")
    asked = stale_client.post(f"/console/keys/{key.pk}/rotate/", {"confirm": "1"})
    assert asked.status_code == 302
    key.refresh_from_db()
    assert key.secret_hash == api_key_hash(old_secret)
    # The TOTP way of confirming (allauth lists it next to the password).
    mfa_url = asked["Location"].replace(REAUTH, "/accounts/2fa/reauthenticate/")
    confirmed = stale_client.post(mfa_url, {"code": totp(secret, NOW)})
    assert confirmed.status_code == 200
    key.refresh_from_db()
    assert key.secret_hash != api_key_hash(old_secret)
    assert "sk-ai-v1-" in confirmed.content.decode()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_a_fresh_sign_in_counts_as_recent(client, user, password):
    assert client.post("/accounts/login/", {"login": user.email, "password": password}).status_code == 302
    response = client.post("/console/keys/subscription/create/", {"name": "right away"})
    assert response.status_code == 200
    assert ApiKey.objects.filter(account=user, name="right away").exists()


def test_the_card_form_after_reauthentication(stale_client, user, password):
    asked = stale_client.post("/console/payg/card/", {"card_number": "4242424242424242"})
    stale_client.post(asked["Location"], {"password": password})
    assert list(PaymentMethod.objects.filter(account=user).values_list("last4", flat=True)) == ["4242"]
