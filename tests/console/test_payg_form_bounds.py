"""Issue 13 (4): thresholds and amounts too large for Decimal's precision are field errors."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from apps.core.exceptions import ApplicationError
from apps.wallet.models import Wallet
from apps.wallet.services import (
    wallet_auto_topup_update,
    wallet_get_or_create,
    wallet_low_balance_alert_update,
)

pytestmark = pytest.mark.django_db
HUGE = ["1e30", "1E+30", "99999999999999999999999999999999", "NaN", "Infinity", "-1e30"]


def wallet_settings(user):
    return Wallet.objects.filter(account=user).values().first()


@pytest.mark.parametrize("threshold", HUGE)
@pytest.mark.parametrize("htmx", [False, True])
def test_huge_low_balance_threshold_is_a_field_error(user_client, user, threshold, htmx):
    wallet_get_or_create(account=user)
    before = wallet_settings(user)
    headers = {"HX-Request": "true"} if htmx else {}
    response = user_client.post(
        reverse("console:payg_low_balance_alert"), {"enabled": "on", "threshold": threshold}, headers=headers
    )
    assert response.status_code in (200, 400)
    assert "Enter an amount from $0.00 to $25,000.00." in response.content.decode()
    assert wallet_settings(user) == before


@pytest.mark.parametrize("threshold", HUGE)
def test_huge_auto_topup_threshold_is_a_field_error(user_client, user, threshold):
    wallet_get_or_create(account=user)
    before = wallet_settings(user)
    response = user_client.post(
        reverse("console:payg_auto_topup"), {"enabled": "on", "threshold": threshold, "amount": "100"}
    )
    assert response.status_code in (200, 400)
    assert "Enter an amount from $0.01 to $25,000.00." in response.content.decode()
    assert wallet_settings(user) == before


@pytest.mark.parametrize("amount", ["99999999999999999999999999999999", "1" * 32])
def test_huge_top_up_and_auto_topup_amounts_are_a_field_error(user_client, user, amount):
    wallet_get_or_create(account=user)
    before = wallet_settings(user)
    for url, data in (
        (reverse("console:payg_topup"), {"amount": amount}),
        (reverse("console:payg_auto_topup"), {"threshold": "10", "amount": amount}),
    ):
        response = user_client.post(url, data)
        assert response.status_code in (200, 400)
        assert "The maximum top-up is $25,000.00." in response.content.decode()
    assert wallet_settings(user) == before


@pytest.mark.parametrize("threshold", [D("1e30"), D("NaN"), D("-0.01"), D("25000.01")])
def test_services_refuse_thresholds_out_of_range_before_rounding(user, threshold):
    wallet_get_or_create(account=user)
    before = wallet_settings(user)
    with pytest.raises(ApplicationError) as refused:
        wallet_low_balance_alert_update(account=user, enabled=True, threshold=threshold)
    assert refused.value.code == "invalid_threshold"
    with pytest.raises(ApplicationError) as refused:
        wallet_auto_topup_update(account=user, enabled=False, threshold=threshold, amount=D("100"))
    assert refused.value.code == "invalid_threshold"
    assert wallet_settings(user) == before
