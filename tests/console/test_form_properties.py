"""Property-based: every console form other than the pay-as-you-go page's (tests/wallet) never answers 5xx
for random input, and invalid input changes nothing. Filters are reads: they never change anything."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from apps.api_keys.models import ApiKeyKind
from apps.console.forms.api_keys import ApiKeyNameForm
from apps.console.forms.plans import PlanChoiceForm
from apps.console.forms.refunds import RefundConfirmForm
from apps.console.forms.usage import UsageRangeForm
from tests.api_keys.factories import make_key
from tests.properties import (
    EDGE_STRINGS,
    PROPERTY_SETTINGS,
    as_querydict,
    assert_not_server_error,
    assert_unchanged,
    form_data,
    snapshot,
)
from tests.refunds.factories import paid_cycle

pytestmark = pytest.mark.django_db
HTMX = [{}, {"HX-Request": "true"}]


def run(client, method, url, fields, valid=None, *, always_unchanged=False, extra=None):
    @PROPERTY_SETTINGS
    @given(data=form_data(fields), headers=st.sampled_from(HTMX))
    def check(data, headers):
        data = {**data, **(extra or {})}
        before = snapshot()
        response = getattr(client, method)(url, data, headers=headers)
        assert_not_server_error(response)
        if always_unchanged or (valid is not None and not valid(data)):
            assert_unchanged(before)

    check()


def form_valid(form_class):
    return lambda data: form_class(as_querydict(data)).is_valid()


@pytest.mark.parametrize("kind", list(ApiKeyKind.values))
def test_key_create_and_rename(user_client, user, kind):
    key, _secret = make_key(account=user, kind=kind)
    run(
        user_client,
        "post",
        reverse("console:api_key_create", args=[kind]),
        ["name"],
        form_valid(ApiKeyNameForm),
    )
    run(
        user_client,
        "post",
        reverse("console:api_key_rename", args=[key.pk]),
        ["name"],
        form_valid(ApiKeyNameForm),
    )


def test_key_status_and_detail_filters(user_client, user):
    key, _secret = make_key(account=user)
    valid_status = lambda data: False  # noqa: E731 - without confirm=… nothing changes; checked below
    run(user_client, "post", reverse("console:api_key_set_status", args=[key.pk]), ["status"], valid_status)
    run(
        user_client,
        "get",
        reverse("console:api_key_detail", args=[key.pk]),
        ["start", "end", "model", "page"],
        always_unchanged=True,
    )


def test_usage_page_filters(user_client):
    run(user_client, "get", reverse("console:usage"), ["start", "end"], always_unchanged=True)
    assert UsageRangeForm({"start": "2026-01-01"}).is_valid()


@pytest.mark.parametrize(
    "url_name", ["console:subscribe", "console:subscription_upgrade", "console:subscription_schedule"]
)
def test_plan_forms(user_client, url_name):
    run(user_client, "post", reverse(url_name), ["plan"], form_valid(PlanChoiceForm))
    run(user_client, "get", reverse(url_name), ["plan"], always_unchanged=url_name != "console:subscribe")


def test_extra_usage_forms(user_client, user):
    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    run(
        user_client,
        "post",
        reverse("console:extra_usage_enable"),
        ["payg_key"],
        lambda data: data.get("payg_key") in (str(key.pk), [str(key.pk)]),
    )
    run(user_client, "post", reverse("console:extra_usage_create_key"), ["name"], form_valid(ApiKeyNameForm))
    run(user_client, "get", reverse("console:extra_usage_select"), ["payg_key"])


def test_refund_confirmation(user_client, user):
    payment = paid_cycle(user, "pro", paid_at=timezone.now() - timedelta(hours=1))
    run(
        user_client,
        "post",
        reverse("console:refund_dialog", args=[payment.public_id]),
        ["confirm"],
        form_valid(RefundConfirmForm),
    )


def test_the_strategies_cover_the_probe_inputs():
    """The inputs the black-box probe found stay in the strategies (kept explicit so they never drift)."""
    assert {"9999-12-31", "0001-01-01", "1e30", "\x00"} <= set(EDGE_STRINGS)
