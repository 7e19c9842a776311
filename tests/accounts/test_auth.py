import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts.models import AccountStatus, User
from apps.plans.models import Subscription

pytestmark = pytest.mark.django_db

STRONG = "Flowport-pass-2026!"


def signup(client, email="new@example.com", password1=STRONG, password2=STRONG, url=None):
    return client.post(
        url or reverse("account_signup"), {"email": email, "password1": password1, "password2": password2}
    )


def test_signup_creates_a_healthy_account_on_free_and_logs_in(client):
    response = signup(client)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.status == AccountStatus.HEALTHY
    assert Subscription.objects.get(account=user).plan.tier == "free"
    assert client.get(reverse("console:home")).status_code == 200


@pytest.mark.parametrize(
    ("email", "password1", "password2", "field"),
    [
        ("not-an-email", STRONG, STRONG, "email"),
        ("ok@example.com", STRONG, STRONG + "x", "password2"),
        ("ok@example.com", "123", "123", "password1"),
        ("ok@example.com", "password", "password", "password1"),
    ],
)
def test_signup_bad_input_gets_a_clear_error_and_creates_nothing(client, email, password1, password2, field):
    before = User.objects.count()
    response = signup(client, email=email, password1=password1, password2=password2)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert User.objects.count() == before
    assert Subscription.objects.count() == before


def test_signup_with_a_taken_email_is_refused(client, user):
    response = signup(client, email=user.email.upper())
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert User.objects.filter(email__iexact=user.email).count() == 1


def test_signup_in_chinese_shows_chinese_errors(client):
    response = signup(client, email="bad", url="/zh-hans/accounts/signup/")
    assert "请输入合法的邮件地址。" in response.content.decode()


def test_login_and_logout(client, user, password):
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    assert response.url == reverse("console:home")
    assert client.get(reverse("console:home")).status_code == 200
    client.post(reverse("account_logout"))
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_login_with_a_wrong_password_fails(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("console:home")).status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(client, user):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(word for word in body.split() if "/accounts/password/reset/key/" in word)
    path = link[link.index("/accounts/") :]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else path
    new = "Another-strong-pass-77"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_console_requires_login(client):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302


def test_language_switch_goes_to_the_same_page_in_chinese_and_remembers_it(user_client, user):
    response = user_client.post(reverse("language_switch"), {"language": "zh-hans", "next": "/pricing/"})
    assert response.status_code == 302
    assert response.url == "/zh-hans/pricing/"
    user.refresh_from_db()
    assert user.preferred_language == "zh-hans"
    response = user_client.post(reverse("language_switch"), {"language": "en", "next": "/zh-hans/console/"})
    assert response.url == "/console/"


def test_language_switch_refuses_foreign_redirects(client):
    response = client.post(
        reverse("language_switch"), {"language": "zh-hans", "next": "https://evil.example/"}
    )
    assert response.url == "/zh-hans/"
