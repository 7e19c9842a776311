"""What the customer sees: a "restricted" banner (what, since when, how to appeal), no "Abusive" badge;
the insider's rate on the subscription page and in the management API; SPEC §3 status values."""

import json
from decimal import Decimal

import pytest
from django.test.utils import override_settings

from apps.accounts.models import AccountStatus
from apps.accounts.services import account_insider_grant, account_set_status
from tests.accounts.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def restrict(user, status):
    account_set_status(account=user, status=status, reason="Pooled keys", actor=StaffFactory())
    user.refresh_from_db()


@override_settings(FLOWPORT_SUPPORT_EMAIL="appeals@flowport.test")
def test_an_abusive_account_sees_what_is_limited_since_when_and_how_to_appeal(user, user_client):
    restrict(user, AccountStatus.ABUSIVE)
    page = user_client.get("/console/subscription/").content.decode()
    assert 'data-testid="restricted-banner"' in page
    assert "Your account is restricted." in page
    assert "each Flow is worth 80% of the standard rate" in page
    assert "requests-per-minute limit is halved" in page
    assert 'href="mailto:appeals@flowport.test"' in page
    assert "Abusive" not in page and "abusive" not in page
    assert "Pooled keys" not in page  # staff's reason stays internal


def test_the_banner_in_chinese(user, user_client):
    restrict(user, AccountStatus.SUSPENDED)
    page = user_client.get("/zh-hans/console/").content.decode()
    assert 'data-testid="restricted-banner"' in page
    assert "你的账号已受限。" in page
    assert "你账号的所有 API 密钥都会被拒绝。" in page


def test_healthy_and_monitored_accounts_see_no_banner(user, user_client):
    assert "restricted-banner" not in user_client.get("/console/").content.decode()
    restrict(user, AccountStatus.MONITORED)
    assert "restricted-banner" not in user_client.get("/console/").content.decode()


def test_an_insider_sees_the_effective_value_on_the_subscription_page(user, user_client):
    account_insider_grant(account=user, actor=StaffFactory(), reason="Early supporter")
    page = user_client.get("/console/subscription/").content.decode()
    assert 'data-testid="insider-notice"' in page
    assert "each Flow is worth 1.2× the standard rate ($0.030303 per Flow)" in page
    assert "insider-notice" not in user_client.get("/console/").content.decode()


def test_the_management_api_keeps_the_spec_status_values_and_shows_the_insider_rate(user):
    from tests.management_api.factories import management_client

    account_insider_grant(
        account=user, actor=StaffFactory(), reason="Early supporter", multiplier=Decimal("1.5")
    )
    client, _key = management_client(user)
    data = json.loads(client.get("/api/v1/management/subscription/detail").content, parse_float=Decimal)[
        "data"
    ]
    assert data["account_status"] == "healthy"
    assert Decimal(data["effective_usd_per_flow"]) == Decimal("0.037878787880")  # 1.5 × the base rate
    restrict(user, AccountStatus.ABUSIVE)
    data = json.loads(client.get("/api/v1/management/subscription/detail").content, parse_float=Decimal)[
        "data"
    ]
    assert data["account_status"] == "abusive"
    assert Decimal(data["effective_usd_per_flow"]) == Decimal("0.020202020202")  # the abusive cap (0.8) wins
