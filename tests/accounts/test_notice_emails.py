"""The insider-revoked notice and the login lock-out e-mail go out like every other e-mail (issue 19): branded
HTML with a text alternative, in the account's language, with absolute links from SITE_URL."""

import re

import pytest
from django.core import mail

from apps.accounts.tasks import account_send_insider_revoked, account_send_login_lockout
from tests.accounts.factories import UserFactory

SITE = "https://portal.example.com"
CJK = re.compile(r"[\u4e00-\u9fff]")


def links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def sent(send, language) -> tuple:
    account = UserFactory(preferred_language=language)
    mail.outbox.clear()
    send(account)
    [message] = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert message.to == [account.email]
    assert "Flowport" in html and "Flowport" in message.body
    assert "127.0.0.1" not in message.body + html and "testserver" not in message.body + html
    return message, html


NOTICES = {
    "insider_revoked": (
        lambda account: account_send_insider_revoked(account.pk),
        {
            "en": ("Flowport: your insider membership has ended", ["/console/subscription/"]),
            "zh-hans": (None, ["/zh-hans/console/subscription/"]),
        },
    ),
    "login_lockout": (
        lambda account: account_send_login_lockout(account.pk, "203.0.113.7"),
        {
            "en": (
                "Flowport: sign-in to your account was paused",
                ["/accounts/password/reset/", "/accounts/2fa/"],
            ),
            "zh-hans": (
                "Flowport：你的账号登录已暂停",
                ["/zh-hans/accounts/password/reset/", "/zh-hans/accounts/2fa/"],
            ),
        },
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("notice", sorted(NOTICES))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_notice_is_branded_html_and_text_in_the_accounts_language(notice, language, settings):
    settings.SITE_URL = SITE
    send, expected = NOTICES[notice]
    subject, paths = expected[language]
    message, html = sent(send, language)
    if subject:
        assert message.subject == subject
    assert bool(CJK.search(message.subject)) is (language == "zh-hans")
    assert bool(CJK.search(message.body)) is (language == "zh-hans")
    assert bool(CJK.search(html)) is (language == "zh-hans")
    expected_links = [SITE + path for path in paths]
    assert [link for link in links(message.body) if link != SITE + "/"] == expected_links
    assert {link for link in links(html) if link != SITE + "/"} == set(expected_links)
    for path in paths:  # each link is a real link in the HTML
        assert f'<a href="{SITE}{path}"' in html


@pytest.mark.django_db
def test_the_lockout_email_names_the_address_and_the_pause(settings):
    settings.SITE_URL = SITE
    settings.FLOWPORT_LOGIN_LOCKOUT_SECONDS = 900
    message, html = sent(NOTICES["login_lockout"][0], "en")
    assert "The attempts came from the address 203.0.113.7." in message.body
    assert "paused for up to 15 minutes" in message.body
    assert "203.0.113.7" in html
