"""Passkeys (allauth MFA WebAuthn) through the real views, with a software authenticator
(tests/accounts/soft_webauthn.py) answering the options the pages give the browser: registration,
sign-in with the passkey alone, the passkey as a second factor, and re-authentication with it."""

import json

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from apps.api_keys.models import ApiKey
from tests.accounts.soft_webauthn import SoftAuthenticator

pytestmark = pytest.mark.django_db

ORIGIN = "https://testserver"  # WebAuthn needs HTTPS: every request here is made as secure
AJAX = {"X-Requested-With": "XMLHttpRequest"}


def register_passkey(client, user, password, *, passwordless=True) -> SoftAuthenticator:
    assert (
        client.post("/accounts/login/", {"login": user.email, "password": password}, secure=True).status_code
        == 302
    )
    asked = client.get("/accounts/2fa/webauthn/add/", secure=True)
    assert asked["Location"].startswith("/accounts/reauthenticate/")  # adding one is a sensitive action
    client.post(asked["Location"], {"password": password}, secure=True)
    page = client.get("/accounts/2fa/webauthn/add/", secure=True)
    assert page.status_code == 200
    options = page.context["js_data"]["creation_options"]
    assert options["publicKey"]["rp"]["id"] == "testserver"
    device = SoftAuthenticator()
    data = {"name": "Laptop", "credential": json.dumps(device.create(options, ORIGIN))}
    if passwordless:
        data["passwordless"] = "on"
    added = client.post("/accounts/2fa/webauthn/add/", data, secure=True)
    assert added.status_code == 302, added.content.decode()[:2000]
    return device


def test_the_log_in_page_offers_a_passkey(client):
    html = client.get("/accounts/login/", secure=True).content.decode()
    assert "/accounts/2fa/webauthn/login/" in html
    assert "mfa/js/webauthn.js" in html


def test_registering_a_passkey_then_signing_in_with_it_alone(client, user, password):
    device = register_passkey(client, user, password)
    passkey = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert passkey.wrap().name == "Laptop"
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    client.post("/accounts/logout/", secure=True)
    assert "_auth_user_id" not in client.session

    options = client.get("/accounts/2fa/webauthn/login/", headers=AJAX, secure=True).json()["request_options"]
    response = client.post(
        "/accounts/2fa/webauthn/login/",
        {"credential": json.dumps(device.get(options, ORIGIN, rp_id="testserver"))},
        secure=True,
    )
    assert response["Location"] == "/console/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_wrong_signature_does_not_sign_in(client, user, password):
    device = register_passkey(client, user, password)
    client.post("/accounts/logout/", secure=True)
    options = client.get("/accounts/2fa/webauthn/login/", headers=AJAX, secure=True).json()["request_options"]
    forged = device.get(options, ORIGIN, rp_id="testserver")
    forged["response"]["signature"] = SoftAuthenticator().get(options, ORIGIN, rp_id="testserver")[
        "response"
    ]["signature"]
    response = client.post("/accounts/2fa/webauthn/login/", {"credential": json.dumps(forged)}, secure=True)
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_the_passkey_is_the_second_factor_after_the_password(client, user, password):
    device = register_passkey(client, user, password, passwordless=False)
    client.post("/accounts/logout/", secure=True)
    first = client.post("/accounts/login/", {"login": user.email, "password": password}, secure=True)
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/2fa/authenticate/", secure=True)
    options = page.context["js_data"]["request_options"]
    done = client.post(
        "/accounts/2fa/authenticate/",
        {"credential": json.dumps(device.get(options, ORIGIN, rp_id="testserver"))},
        secure=True,
    )
    assert done["Location"] == "/console/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_re_authenticating_with_the_passkey_for_a_sensitive_action(client, user, password, settings):
    device = register_passkey(client, user, password)
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 0  # every earlier authentication is too old now
    asked = client.post("/console/keys/management/create/", {"name": "ci"}, secure=True)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert not ApiKey.objects.filter(account=user).exists()
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
    url = asked["Location"].replace("/accounts/reauthenticate/", reverse("mfa_reauthenticate_webauthn"))
    page = client.get(url, secure=True)
    options = page.context["js_data"]["request_options"]
    confirmed = client.post(
        url, {"credential": json.dumps(device.get(options, ORIGIN, rp_id="testserver"))}, secure=True
    )
    assert confirmed.status_code == 200
    assert ApiKey.objects.filter(account=user, name="ci").count() == 1
