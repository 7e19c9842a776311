"""E-mails (issue 18): every notification e-mail renders in English and Chinese, HTML + text, branded,
with absolute links from SITE_URL; allauth's account e-mails too, and sign-up stores the language."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from apps.notifications.emails import notification_email
from apps.notifications.kinds import KINDS
from apps.notifications.models import Notification
from tests.accounts.factories import UserFactory

SITE = "https://portal.example.com"
NOW = timezone.now().isoformat()

SAMPLES = {
    "quota.threshold": {
        "window": "five_hour",
        "threshold": 80,
        "used_flows": "8.000000",
        "max_flows": "10.000000",
        "window_started_at": NOW,
        "resets_at": NOW,
    },
    "quota.restored": {"window": "weekly", "used_flows": "12.500000"},
    "extra_usage.engaged": {"window": "five_hour", "resets_at": NOW},
    "extra_usage.returned": {"window": "five_hour"},
    "wallet.low_balance": {"balance_usd": "2.50", "threshold_usd": "3.00"},
    "wallet.auto_topup_succeeded": {"amount_usd": "25.00", "receipt_number": "FP-2026-0000001"},
    "wallet.auto_topup_failed": {"amount_usd": "25.00", "reason": "card declined"},
    "wallet.topup_receipt": {"amount_usd": "10.00", "receipt_number": "FP-2026-0000002"},
    "subscription.started": {"plan": "Pro", "amount_usd": "20.00"},
    "subscription.upgraded": {"plan": "Max", "from_plan": "Pro", "amount_usd": "40.00"},
    "subscription.downgrade_scheduled": {"plan": "Pro", "effective_at": NOW},
    "subscription.renewed": {"plan": "Pro", "amount_usd": "20.00", "receipt_number": "FP-2026-0000003"},
    "subscription.renewal_failed": {"plan": "Pro"},
    "subscription.dropped_to_free": {"from_plan": "Pro"},
    "refund.status_changed": {"status": "succeeded", "amount_usd": "15.96"},
    "account.status_changed": {"status": "suspended"},
    "security.api_key_created": {"name": "ci", "key": "sk-fp-v1-abcd…wxyz"},
    "security.api_key_rotated": {"name": "ci", "key": "sk-fp-v1-efgh…wxyz"},
    "security.management_key_created": {"name": "ops", "key": "sk-mg-v1-abcd…wxyz"},
    "webhook.endpoint_disabled": {"url": "https://hooks.example.com/flowport"},
    "limits.key_threshold": {
        "key_name": "ci",
        "unit": "Flows",
        "period": "day",
        "threshold": 80,
        "used": "8.000000",
        "limit": "10.000000",
        "period_start": NOW,
        "resets_at": NOW,
    },
    "limits.key_limit_reached": {"key_name": "ci", "period": "day", "period_start": NOW, "resets_at": NOW},
    "limits.spend_cap_threshold": {
        "period": "month",
        "threshold": 95,
        "spent_usd": "9.500000",
        "cap_usd": "10.00",
        "period_start": NOW,
        "resets_at": NOW,
    },
    "limits.spend_cap_reached": {"period": "week", "period_start": NOW, "resets_at": NOW},
}


def links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def test_every_kind_has_a_sample():
    assert set(SAMPLES) == set(KINDS)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_notification_email_renders_in_english_and_chinese_with_absolute_links(kind, settings):
    settings.SITE_URL = SITE
    rendered = {}
    for language in ("en", "zh-hans"):
        account = UserFactory(preferred_language=language)
        notification = Notification.objects.create(account=account, kind=kind, data=SAMPLES[kind])
        message = notification_email(notification)
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        assert message.to == [account.email]
        assert message.subject.startswith("Flowport: ")
        assert "Flowport" in html and "Flowport" in message.body
        for body in (message.body, html):
            # Our links (the customer's own webhook URL may be quoted in the text).
            found = [link for link in links(body) if not link.startswith("https://hooks.example.com")]
            assert found, body
            assert all(link.startswith(SITE + "/") for link in found), found
            assert "127.0.0.1" not in body and "localhost" not in body
        prefix = "/zh-hans/" if language == "zh-hans" else "/console/"
        assert f"{SITE}{prefix}" in message.body
        assert "notifications/preferences/" in message.body
        rendered[language] = message
    assert rendered["en"].subject != rendered["zh-hans"].subject  # translated
    assert re.search(r"[\u4e00-\u9fff]", rendered["zh-hans"].subject)
    assert re.search(r"[\u4e00-\u9fff]", rendered["zh-hans"].body)


@pytest.mark.django_db
def test_sign_up_stores_the_language_and_the_confirmation_email_is_branded(client, settings):
    settings.SITE_URL = SITE
    response = client.post(
        "/zh-hans/accounts/signup/",
        {"email": "new@example.com", "password1": "Flowport-pass-2026!", "password2": "Flowport-pass-2026!"},
    )
    assert response.status_code == 302
    from apps.accounts.models import User

    assert User.objects.get(email="new@example.com").preferred_language == "zh-hans"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert "Hello from" not in message.body and "127.0.0.1" not in message.body
    assert "testserver" not in message.body and "testserver" not in html
    assert message.subject.startswith("Flowport: ")
    assert re.search(r"[\u4e00-\u9fff]", message.subject)  # in the language the account signed up in
    confirm = [link for link in links(message.body) if "/accounts/confirm-email/" in link]
    assert confirm and all(link.startswith(SITE + "/") for link in confirm)
    assert confirm[0] in html


@pytest.mark.django_db
def test_password_reset_email_is_in_the_accounts_language_with_an_absolute_link(client, settings):
    settings.SITE_URL = SITE
    account = UserFactory(preferred_language="zh-hans")
    assert client.post("/accounts/password/reset/", {"email": account.email}).status_code == 302
    message = mail.outbox[0]
    assert re.search(r"[\u4e00-\u9fff]", message.body)
    reset = [link for link in links(message.body) if "/password/reset/key/" in link]
    assert reset and reset[0].startswith(SITE + "/")
    assert message.alternatives[0][1] == "text/html"
