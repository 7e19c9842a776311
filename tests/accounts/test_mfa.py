"""Two-factor sign-in (allauth.mfa): TOTP set up and used through the real views, codes computed here
(RFC 6238, independent of allauth's implementation), and recovery codes, each usable once."""

import base64
import hashlib
import hmac
import struct

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.utils import decrypt

pytestmark = pytest.mark.django_db

NOW = 1_800_000_015  # a fixed moment (seconds since the epoch), in the middle of a 30-second step


def totp(secret: str, at: int, *, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 TOTP (HMAC-SHA1) of a base32 secret at `at`."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", at // period), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


@pytest.fixture
def clock(monkeypatch):
    """allauth's TOTP clock, fixed at NOW (no test depends on the wall clock's 30-second steps)."""

    class Clock:
        now = NOW

        @classmethod
        def time(cls):
            return cls.now

    monkeypatch.setattr(totp_auth, "time", Clock)
    return Clock


def log_in(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def activate_totp(client, user, password) -> str:
    """Sign in, open the TOTP set-up page and confirm it with a computed code; returns the secret."""
    assert log_in(client, user.email, password)["Location"] == "/console/"
    # Setting up two-factor sign-in is a sensitive action: allauth asks for the password again first.
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    confirmed = client.post(asked["Location"], {"password": password})
    assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[totp_auth.SECRET_SESSION_KEY]
    assert page.context["form"].secret == secret
    wrong = client.post(
        "/accounts/2fa/totp/activate/", {"code": "000000" if totp(secret, NOW) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and not Authenticator.objects.filter(user=user).exists()
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret, NOW)})
    assert done.status_code == 302
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    client.post("/accounts/logout/")
    return secret


def test_mfa_log_in_asks_for_the_totp_code_after_the_password(client, user, password, clock):
    secret = activate_totp(client, user, password)

    first_step = log_in(client, user.email, password)
    assert first_step["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session  # the password alone does not sign in

    clock.now = NOW + 30  # the next step: a fresh code
    refused = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, NOW + 90)})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session

    signed_in = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, NOW + 30)})
    assert signed_in["Location"] == "/console/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/console/").status_code == 200

    # The same code cannot sign in a second time.
    client.post("/accounts/logout/")
    assert log_in(client, user.email, password)["Location"] == "/accounts/2fa/authenticate/"
    replay = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, NOW + 30)})
    assert replay.status_code == 200 and "_auth_user_id" not in client.session


def test_a_recovery_code_signs_in_once(client, user, password, clock):
    activate_totp(client, user, password)
    codes = (
        Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    )
    assert len(codes) == 10

    assert log_in(client, user.email, password)["Location"] == "/accounts/2fa/authenticate/"
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]})["Location"] == "/console/"
    assert client.session["_auth_user_id"] == str(user.pk)
    remaining = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap()
    assert remaining.get_unused_codes() == codes[1:]

    client.post("/accounts/logout/")
    log_in(client, user.email, password)
    reused = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert reused.status_code == 200 and "_auth_user_id" not in client.session


def test_without_mfa_the_password_alone_signs_in(client, user, password):
    assert log_in(client, user.email, password)["Location"] == "/console/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_two_factor_pages_are_linked_and_in_chinese(client, user, password, clock):
    activate_totp(client, user, password)
    response = client.post("/zh-hans/accounts/login/", {"login": user.email, "password": password})
    assert response["Location"] == "/zh-hans/accounts/2fa/authenticate/"
    assert "请输入身份验证器代码" in client.get(response["Location"]).content.decode()
    client.post("/zh-hans/accounts/2fa/authenticate/", {"code": totp(client_secret(user), NOW)})
    page = client.get("/zh-hans/console/").content.decode()
    assert 'href="/zh-hans/accounts/2fa/"' in page and "双因素身份认证" in page


def client_secret(user) -> str:
    return decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])
