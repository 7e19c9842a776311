"""The account settings page (e-mail, password, language, two-factor, sessions) and account deletion:
what the page states, re-authentication, and what deleting changes (and keeps)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.test import Client

from apps.accounts.models import User
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.billing.models import Payment, PaymentMethod
from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.wallet.models import LedgerEntry, Wallet
from apps.wallet.services import wallet_auto_topup_update
from tests.api_keys.factories import make_key
from tests.helpers import sign_in
from tests.plans.factories import put_on_plan, save_card
from tests.wallet.factories import credit, paid_topup

pytestmark = pytest.mark.django_db

END = datetime(2027, 1, 15, tzinfo=UTC)


def test_the_settings_page_lists_addresses_two_factor_and_sessions(user_client, user):
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    EmailAddress.objects.create(user=user, email="second@example.com", primary=False, verified=False)
    html = user_client.get("/console/account/").content.decode()
    for text in (
        user.email,
        "second@example.com",
        "Unverified",
        'href="/accounts/email/"',
        'href="/accounts/password/change/"',
        'href="/accounts/2fa/"',
        'href="/accounts/sessions/"',
        'href="/console/account/delete/"',
        "Authenticator app: off",
        "Passkeys: 0",
    ):
        assert text in html, text
    assert 'href="/console/account/" aria-current="page"' in html  # in the console navigation


def test_the_page_in_chinese(user_client):
    html = user_client.get("/zh-hans/console/account/").content.decode()
    assert "账号设置" in html
    assert "删除账号" in html


def test_language_is_saved_and_the_page_follows_it(user_client, user):
    response = user_client.post("/console/account/language/", {"language": "zh-hans"})
    assert response["Location"] == "/zh-hans/console/account/"
    user.refresh_from_db()
    assert user.preferred_language == "zh-hans"
    bad = user_client.post("/console/account/language/", {"language": "fr"})
    assert bad["Location"] == "/console/account/"
    user.refresh_from_db()
    assert user.preferred_language == "zh-hans"


@pytest.fixture
def paying_user(user):
    put_on_plan(user, "pro", end=END)
    make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="sub")
    make_key(account=user, kind=ApiKeyKind.PAYG, name="payg")
    make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="mgmt")
    paid_topup(user, "10.00")  # $10.00 top-up + $2.00 bonus
    credit(user, "1.50", "compensation")
    save_card(user)
    wallet_auto_topup_update(account=user, enabled=True, threshold=Decimal("5"), amount=Decimal("20"))
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


def test_the_deletion_page_states_what_happens_to_keys_subscription_and_balance(user_client, paying_user):
    html = user_client.get("/console/account/delete/").content.decode()
    assert "All 3 of your API keys are deleted and refused from then on." in html
    assert "Your Pro subscription is canceled now and never renews. The time left until 2027-01-15" in html
    assert "($10.00 in top-up credits and $3.50 in bonus credits)" in html
    assert "is not paid out" in html
    assert f"kept for {settings.FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS // 365} years" in html


def snapshot(user) -> tuple:
    user.refresh_from_db()
    wallet = Wallet.objects.get(account=user)
    return (
        user.email,
        user.is_active,
        user.deleted_at,
        ApiKey.objects.live().filter(account=user).count(),
        Subscription.objects.get(account=user).plan.tier,
        wallet.auto_topup_enabled,
        PaymentMethod.objects.filter(account=user).count(),
        EmailAddress.objects.filter(user=user).count(),
        AuditEvent.objects.filter(event_type="account.deleted").count(),
    )


def test_deleting_without_recent_authentication_asks_first_and_changes_nothing(client, paying_user):
    sign_in(client, paying_user, seconds_ago=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)
    before = snapshot(paying_user)
    response = client.post("/console/account/delete/", {"email": paying_user.email})
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fconsole%2Faccount%2Fdelete%2F"
    assert snapshot(paying_user) == before
    htmx = client.post(
        "/console/account/delete/",
        {"email": paying_user.email},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/console/account/delete/"},
    )
    assert htmx["HX-Redirect"] == "/accounts/reauthenticate/?next=/console/account/delete/"
    assert snapshot(paying_user) == before


def test_a_wrong_confirmation_changes_nothing(user_client, paying_user):
    before = snapshot(paying_user)
    response = user_client.post("/console/account/delete/", {"email": "someone@example.com"})
    assert response.status_code == 400
    assert "This is not your account&#x27;s e-mail address." in response.content.decode()
    too_long = user_client.post("/console/account/delete/", {"email": "a" * 300})
    assert too_long.status_code == 400
    assert snapshot(paying_user) == before


def test_deleting_closes_everything_anonymises_keeps_records_and_is_audited(client, paying_user, password):
    assert client.post("/accounts/login/", {"login": paying_user.email, "password": password})[
        "Location"
    ].startswith("/accounts/2fa/")  # TOTP on: the password alone does not sign in
    sign_in(client, paying_user)
    other = Client()
    sign_in(other, paying_user)  # a second session, in another browser
    old_email = paying_user.email
    payments_before = Payment.objects.filter(account=paying_user).count()
    ledger_before = LedgerEntry.objects.filter(wallet__account=paying_user).count()

    response = client.post("/console/account/delete/", {"email": old_email.upper()})

    assert response["Location"] == "/pricing/"
    paying_user.refresh_from_db()
    assert paying_user.email == f"deleted-{paying_user.pk}@deleted.invalid"
    assert (paying_user.name, paying_user.is_active, paying_user.has_usable_password()) == ("", False, False)
    assert paying_user.deleted_at is not None
    assert ApiKey.objects.live().filter(account=paying_user).count() == 0
    assert ApiKey.objects.filter(account=paying_user).count() == 3  # records kept for usage history
    assert Subscription.objects.get(account=paying_user).plan.tier == "free"
    wallet = Wallet.objects.get(account=paying_user)
    assert (wallet.auto_topup_enabled, wallet.low_balance_alert_enabled) == (False, False)
    assert (wallet.top_up_balance, wallet.bonus_balance) == (Decimal("10.00"), Decimal("3.50"))
    assert not PaymentMethod.objects.filter(account=paying_user).exists()
    assert not EmailAddress.objects.filter(user=paying_user).exists()
    assert not Authenticator.objects.filter(user=paying_user).exists()
    assert not UserSession.objects.filter(user=paying_user).exists()
    assert Payment.objects.filter(account=paying_user).count() == payments_before
    assert LedgerEntry.objects.filter(wallet__account=paying_user).count() == ledger_before
    event = AuditEvent.objects.get(event_type="account.deleted")
    assert (event.account_id, event.actor_id) == (paying_user.pk, paying_user.pk)
    assert event.details == {
        "plan": "pro",
        "subscription_status": "active",
        "keys_deleted": 3,
        "payment_methods_removed": 1,
        "wallet_top_up_usd": "10.000000",
        "wallet_bonus_usd": "3.500000",
    }
    assert old_email not in str(event.details)
    # Signed out here and in the other browser; the old credentials no longer sign in.
    assert client.get("/console/")["Location"].startswith("/accounts/login/")
    assert other.get("/console/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/login/", {"login": old_email, "password": password}).status_code == 200
    # The address can sign up again, as a new account.
    signup = Client().post(
        "/accounts/signup/", {"email": old_email, "password1": password, "password2": password}
    )
    assert signup.status_code == 302
    assert User.objects.get(email=old_email).pk != paying_user.pk
