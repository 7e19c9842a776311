"""Property-based: the pay-as-you-go page's forms never answer 5xx, and invalid input changes nothing."""

import pytest
from django.urls import reverse
from hypothesis import given

from apps.billing.forms import SandboxCardForm
from apps.console.forms.wallet import AutoTopUpForm, LowBalanceAlertForm, TopUpForm
from apps.wallet.services import wallet_get_or_create
from tests.properties import (
    PROPERTY_SETTINGS,
    as_querydict,
    assert_not_server_error,
    assert_unchanged,
    form_data,
    snapshot,
)

pytestmark = pytest.mark.django_db

FORMS = [
    ("console:payg_topup", TopUpForm, ["amount", "save_method"]),
    ("console:payg_auto_topup", AutoTopUpForm, ["enabled", "threshold", "amount"]),
    ("console:payg_low_balance_alert", LowBalanceAlertForm, ["enabled", "threshold"]),
    ("console:payg_sandbox_card", SandboxCardForm, ["card_number"]),
]


@pytest.mark.parametrize(("url_name", "form_class", "fields"), FORMS, ids=[f[0] for f in FORMS])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_payg_forms_never_fail_and_invalid_input_changes_nothing(
    user_client, user, url_name, form_class, fields, htmx
):
    wallet_get_or_create(account=user)
    url = reverse(url_name)
    headers = {"HX-Request": "true"} if htmx else {}

    @PROPERTY_SETTINGS
    @given(data=form_data(fields))
    def check(data):
        before = snapshot()
        response = user_client.post(url, data, headers=headers)
        assert_not_server_error(response)
        if not form_class(as_querydict(data)).is_valid():
            assert_unchanged(before)

    check()
