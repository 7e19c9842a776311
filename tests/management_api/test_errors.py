"""Every refusal answers the SPEC §7 body with the exact status and type, and changes nothing."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import AccountStatus, User
from apps.api_keys.authentication import FAILED_MESSAGES
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import api_key_delete, api_key_set_status
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.management_api.factories import BASE, get, management_client
from tests.usage.factories import UsageEventFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["subscription/detail", "flow_rate", "payg/balance", "generation?id=x", "statistics/timeseries"]


def error_of(response, status: int, type_: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "type", "message"}
    assert (body["error"]["code"], body["error"]["type"]) == (str(status), type_)
    return body["error"]["message"]


def call(authorization: str | None, path: str = "subscription/detail"):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(BASE + path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_header_is_401_on_every_endpoint(db, path):
    response = call(None, path)
    message = error_of(response, 401, "unauthorized")
    assert message == "Missing API key: send the header “Authorization: Bearer sk-mg-v1-…”."
    assert response["WWW-Authenticate"] == 'Bearer realm="management"'


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "Malformed API key."),
        ("Token sk-mg-v1-" + "0" * 64, "Malformed API key."),
        ("Bearer sk-mg-v1-short", "Malformed API key."),
        ("Bearer sk-mg-v1-" + "0" * 64, "Unknown API key."),
    ],
)
def test_malformed_and_unknown_keys_are_401(db, header, message):
    assert error_of(call(header), 401, "unauthorized") == message


def test_disabled_and_deleted_keys_are_401_and_not_counted(user):
    disabled, disabled_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="d")
    api_key_set_status(account=user, key_id=disabled.pk, status=ApiKeyStatus.DISABLED)
    deleted, deleted_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="x")
    api_key_delete(account=user, key_id=deleted.pk)
    assert error_of(call(f"Bearer {disabled_secret}"), 401, "unauthorized") == "This API key is disabled."
    assert error_of(call(f"Bearer {deleted_secret}"), 401, "unauthorized") == "This API key has been deleted."
    assert list(
        ApiKey.objects.filter(pk__in=[disabled.pk, deleted.pk]).values_list("request_count", flat=True)
    ) == [0, 0]


@pytest.mark.parametrize("kind", [ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG])
def test_subscription_and_payg_keys_are_403(user, kind):
    key, secret = make_key(account=user, kind=kind)
    message = error_of(call(f"Bearer {secret}"), 403, "access_denied")
    assert message == "This endpoint accepts management keys (sk-mg-v1-…) only."
    assert ApiKey.objects.get(pk=key.pk).request_count == 0


@pytest.mark.parametrize("status", [AccountStatus.SUSPENDED, AccountStatus.BANNED])
def test_suspended_or_banned_account_is_403(user, status):
    client, key = management_client(user)
    User.objects.filter(pk=user.pk).update(status=status)
    message = error_of(get(client, "flow_rate"), 403, "access_denied")
    assert message == "This account is suspended or banned; its keys are refused."
    assert ApiKey.objects.get(pk=key.pk).request_count == 0


def test_another_accounts_generation_is_404_like_an_unknown_one(user):
    other = UserFactory()
    other_key, _secret = make_key(account=other, kind=ApiKeyKind.SUBSCRIPTION)
    UsageEventFactory(request_id="gen_theirs", account=other, api_key=other_key)
    client, _key = management_client(user)
    theirs = error_of(get(client, "generation", id="gen_theirs"), 404, "not_found")
    unknown = error_of(get(client, "generation", id="gen_nope"), 404, "not_found")
    assert theirs == unknown == "No generation with this id in this account."


def test_generation_without_id_is_400(user):
    client, _key = management_client(user)
    assert (
        error_of(get(client, "generation"), 400, "invalid_params")
        == "Invalid parameter id: This field is required."
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bucket_width": "2d"}, 'Invalid parameter bucket_width: "2d" is not a valid choice.'),
        ({"metric": "flows"}, 'Invalid parameter metric: "flows" is not a valid choice.'),
        ({"limit": "51"}, "Invalid parameter limit: Ensure this value is less than or equal to 50."),
        ({"limit": "0"}, "Invalid parameter limit: Ensure this value is greater than or equal to 1."),
        ({"limit": "ten"}, "Invalid parameter limit: A valid integer is required."),
        (
            {"starting_at": "2026-13-01"},
            "Invalid parameter starting_at: Enter an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z.",
        ),
        (
            {"ending_at": "yesterday"},
            "Invalid parameter ending_at: Enter an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z.",
        ),
        (
            {"starting_at": "1999-12-31", "ending_at": "2000-01-02"},
            "Invalid parameter starting_at: Dates must be between 2000-01-01 and 2999-12-31.",
        ),
        (
            {"starting_at": "2026-11-02", "ending_at": "2026-11-02"},
            "Invalid parameter starting_at: starting_at must be before ending_at.",
        ),
        (
            # 61 UTC days: one too many.
            {"starting_at": "2026-01-01", "ending_at": "2026-03-03"},
            "Invalid parameter starting_at: The range spans 61 buckets of 1d; at most 60 are allowed.",
        ),
        (
            {"bucket_width": "1w", "starting_at": "2025-01-01", "ending_at": "2026-06-01"},
            "Invalid parameter starting_at: The range spans 74 buckets of 1w; at most 60 are allowed.",
        ),
    ],
)
def test_bad_timeseries_parameters_are_400_naming_the_parameter(user, params, message):
    client, _key = management_client(user)
    assert error_of(get(client, "statistics/timeseries", **params), 400, "invalid_params") == message


def test_sixty_buckets_are_allowed(user):
    client, _key = management_client(user)
    response = get(client, "statistics/timeseries", starting_at="2026-01-01", ending_at="2026-03-02")
    assert response.status_code == 200
    assert len(response.json()["data"]["buckets"]) == 60


def test_errors_follow_accept_language(user):
    client, _key = management_client(user)
    response = client.get(
        BASE + "generation", {"id": "gen_nope"}, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5"
    )
    assert error_of(response, 404, "not_found") == "此账户中没有该 id 对应的请求记录。"
    response = client.get(BASE + "statistics/timeseries", {"limit": "51"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert error_of(response, 400, "invalid_params").startswith("Invalid parameter limit") is False
    anonymous = APIClient().get(BASE + "flow_rate", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert error_of(anonymous, 401, "unauthorized") != FAILED_MESSAGES["missing"]
    english = client.get(BASE + "generation", {"id": "gen_nope"}, HTTP_ACCEPT_LANGUAGE="en-US")
    assert error_of(english, 404, "not_found") == "No generation with this id in this account."


def test_without_accept_language_errors_use_the_accounts_language(user):
    User.objects.filter(pk=user.pk).update(preferred_language="zh-hans")
    client, _key = management_client(user)
    response = client.get(BASE + "generation", {"id": "gen_nope"})
    assert error_of(response, 404, "not_found") == "此账户中没有该 id 对应的请求记录。"


def test_unknown_management_path_is_a_json_404(user):
    client, _key = management_client(user)
    error_of(client.get(BASE + "nothing/here"), 404, "not_found")


def test_write_methods_are_405(user):
    client, _key = management_client(user)
    error_of(client.post(BASE + "flow_rate", {}), 405, "method_not_allowed")
