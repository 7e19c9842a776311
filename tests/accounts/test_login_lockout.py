"""allauth's login rate limits are configured; the first refusal of a lock-out window e-mails the
address's owner (in their language) and shows in their activity log; strangers' addresses get nothing."""

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db

REFUSED = "Too many failed login attempts. Try again later."


def attempt(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_the_rate_limits_are_configured():
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "10/m/ip,5/300s/key"
    assert settings.ACCOUNT_RATE_LIMITS["login"] == "30/m/ip"


def test_five_wrong_passwords_pause_sign_in_and_tell_the_owner_once(
    client, user, password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            response = attempt(client, user.email, "wrong-password")
            assert REFUSED not in response.content.decode()
        assert mail.outbox == []
        refused = attempt(client, user.email, "wrong-password")
        assert REFUSED in refused.content.decode()
        again = attempt(Client(), user.email, password)  # even the right password, from elsewhere
        assert REFUSED in again.content.decode()
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Flowport: sign-in to your account was paused"
    assert (
        "too many times, so signing in to your Flowport account is paused for up to 5 minutes."
        in message.body
    )
    assert "The attempts came from the address 127.0.0.1." in message.body
    assert "http://localhost:8000/accounts/password/reset/" in message.body
    event = AuditEvent.objects.get(event_type="account.login_locked")
    assert (event.account_id, event.details) == (user.pk, {"ip": "127.0.0.1"})


def test_an_unknown_address_gets_no_mail(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            response = attempt(client, "nobody@example.com", "wrong-password")
    assert REFUSED in response.content.decode()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(event_type="account.login_locked").exists()


def test_the_mail_is_in_the_owners_language(client, user, django_capture_on_commit_callbacks):
    user.preferred_language = "zh-hans"
    user.save(update_fields=["preferred_language"])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            attempt(client, user.email, "wrong-password")
    assert mail.outbox[0].subject == "Flowport：你的账号登录已暂停"
    assert "127.0.0.1" in mail.outbox[0].body
