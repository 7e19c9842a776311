"""Staff need two-factor sign-in before they can use the admin (FLOWPORT_ADMIN_REQUIRE_MFA, on in
production), and the admin signs in only through allauth (so its two-factor step cannot be skipped)."""

import importlib

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP

from tests.accounts.factories import StaffFactory
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.FLOWPORT_ADMIN_REQUIRE_MFA = True


@pytest.fixture
def staff(client):
    member = StaffFactory()
    sign_in(client, member)
    return member


def test_on_by_default_in_production(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "test-only")
    monkeypatch.delenv("FLOWPORT_ADMIN_REQUIRE_MFA", raising=False)
    assert importlib.import_module("config.settings.production").FLOWPORT_ADMIN_REQUIRE_MFA is True


@pytest.mark.usefixtures("required")
def test_staff_without_two_factor_are_sent_to_set_it_up_with_a_message(client, staff):
    for url in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{staff.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/2fa/"
    page = client.get("/accounts/2fa/")
    assert "Staff need two-factor sign-in to use the admin." in page.content.decode()


@pytest.mark.usefixtures("required")
def test_recovery_codes_alone_are_not_enough(client, staff):
    RecoveryCodes.activate(staff)
    assert client.get("/admin/")["Location"] == "/accounts/2fa/"


@pytest.mark.usefixtures("required")
def test_staff_with_an_authenticator_app_use_the_admin(client, staff):
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    assert client.get("/admin/").status_code == 200


def test_when_the_setting_is_off_the_admin_opens(client, staff, settings):
    settings.FLOWPORT_ADMIN_REQUIRE_MFA = False
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("required")
def test_customers_are_not_redirected_to_set_up_two_factor(user_client):
    assert user_client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_admin_log_in_form_is_allauths(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
