"""The limits form on a key's page (issue #22) and the management API's `keys` endpoint."""

from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_set_limits
from tests.api_keys.factories import make_key
from tests.management_api.factories import get, management_client

CHAT = "deepseek/deepseek-chat"


@pytest.mark.django_db
def test_limits_form_saves_and_shows_the_limits(user, user_client):
    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    page = user_client.get(f"/console/keys/{key.pk}/")
    assert page.status_code == 200
    assert b'data-testid="key-limits"' in page.content

    response = user_client.post(
        f"/console/keys/{key.pk}/limits/",
        {"spend_limit": "2.50", "spend_limit_period": "day", "allowed_models": [CHAT], "rpm_limit": "12"},
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.spend_limit, key.spend_limit_period, key.allowed_models, key.rpm_limit) == (
        Decimal("2.5"),
        "day",
        [CHAT],
        12,
    )
    page = user_client.get(f"/console/keys/{key.pk}/")
    assert b'value="2.500000"' in page.content or b'value="2.5"' in page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"spend_limit": "0", "spend_limit_period": "day"}, "spend_limit"),
        ({"spend_limit": "1000000000000", "spend_limit_period": "day"}, "spend_limit"),
        ({"spend_limit": "5"}, "spend_limit_period"),
        ({"spend_limit_period": "year"}, "spend_limit_period"),
        ({"allowed_models": ["nope/nope"]}, "allowed_models"),
        ({"rpm_limit": "0"}, "rpm_limit"),
        ({"rpm_limit": "10000001"}, "rpm_limit"),
    ],
)
def test_limits_form_bounds_answer_400_naming_the_field_and_change_nothing(user, user_client, data, field):
    key, _secret = make_key(account=user)
    response = user_client.post(f"/console/keys/{key.pk}/limits/", data)
    assert response.status_code == 400
    assert response.context["limits_form"].errors[field]
    key.refresh_from_db()
    assert (key.spend_limit, key.allowed_models, key.rpm_limit, key.has_limits) == (None, [], None, False)


@pytest.mark.django_db
def test_another_accounts_key_limits_are_not_found(user, user_client):
    from tests.accounts.factories import UserFactory

    other, _secret = make_key(account=UserFactory())
    response = user_client.post(f"/console/keys/{other.pk}/limits/", {"rpm_limit": "5"})
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=other.pk).rpm_limit is None


@pytest.mark.django_db
def test_management_api_lists_inference_keys_with_their_limits(user):
    client, _management = management_client(user)
    sub, _ = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="ci")
    api_key_set_limits(
        account=user,
        key_id=payg.pk,
        spend_limit=Decimal("3"),
        spend_limit_period="month",
        allowed_models=[CHAT],
        rpm_limit=7,
    )

    response = get(client, "keys")

    assert response.status_code == 200
    keys = response.json()["data"]["keys"]
    assert [(k["id"], k["name"], k["kind"]) for k in keys] == [
        (sub.pk, "laptop", "subscription"),
        (payg.pk, "ci", "payg"),
    ]
    assert keys[0]["limits"] == {
        "spend_limit": None,
        "spend_limit_period": None,
        "allowed_models": [],
        "rpm_limit": None,
    }
    assert keys[1]["limits"] == {
        "spend_limit": 3.0,
        "spend_limit_period": "month",
        "allowed_models": [CHAT],
        "rpm_limit": 7,
    }
