"""The account's sessions (allauth.usersessions): listed with their browser and address; "sign out the
other sessions" ends every session but the current one."""

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def log_in(user, password, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    assert (
        client.post("/accounts/login/", {"login": user.email, "password": password})["Location"]
        == "/console/"
    )
    return client


def test_sessions_are_listed_and_the_others_can_be_ended(user, password):
    laptop = log_in(user, password, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
    phone = log_in(user, password, "Mozilla/5.0 (iPhone) Safari/604.1")
    stranger = log_in(UserFactory(email="other@example.com"), password, "curl/8")

    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Firefox" in html and "Safari" in html and "curl" not in html
    assert UserSession.objects.filter(user=user).count() == 2

    ended = laptop.post("/accounts/sessions/")
    assert ended.status_code == 302
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
    ]
    assert laptop.get("/console/").status_code == 200
    assert phone.get("/console/")["Location"].startswith("/accounts/login/")
    assert stranger.get("/console/").status_code == 200  # another account's session is untouched


def test_the_sessions_page_in_chinese(user, password):
    client = log_in(user, password, "Firefox")
    html = client.get("/zh-hans/accounts/sessions/").content.decode()
    assert "会话" in html
