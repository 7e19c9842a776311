import pytest
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.accounts.models import AccountStatus, User
from apps.api_keys.authentication import (
    ApiKeyAccessDenied,
    ApiKeyAuthenticationFailed,
    ManagementKeyAuthentication,
)
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import api_key_delete, api_key_rotate, api_key_set_status
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db


class Probe(APIView):
    authentication_classes = [ManagementKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"account": request.user.pk, "key": request.auth.pk})


def call(authorization=None):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    return Probe.as_view()(APIRequestFactory().get("/probe", **headers))


def test_a_management_key_authenticates_its_account_and_key(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    response = call(f"Bearer {secret}")
    assert response.status_code == 200
    assert response.data == {"account": user.pk, "key": key.pk}
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert call(f"bearer {secret}").status_code == 200


def test_missing_malformed_unknown_disabled_deleted_are_401(user):
    disabled, disabled_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="d")
    api_key_set_status(account=user, key_id=disabled.pk, status=ApiKeyStatus.DISABLED)
    deleted, deleted_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="x")
    api_key_delete(account=user, key_id=deleted.pk)
    rotated, old_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="r")
    api_key_rotate(account=user, key_id=rotated.pk)
    cases = [
        (None, "missing"),
        ("Bearer", "malformed"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer sk-mg-v1-nothex", "malformed"),
        ("Bearer a b", "malformed"),
        ("Bearer sk-mg-v1-" + "0" * 64, "unknown"),
        (f"Bearer {old_secret}", "unknown"),
        (f"Bearer {disabled_secret}", "disabled"),
        (f"Bearer {deleted_secret}", "deleted"),
    ]
    for header, reason in cases:
        response = call(header)
        assert response.status_code == 401, header
        assert response.data["error"]["type"] == "unauthorized"  # SPEC §7 body (apps.core.api handler)
        assert response["WWW-Authenticate"] == 'Bearer realm="management"'
        request = APIRequestFactory().get("/probe", **({"HTTP_AUTHORIZATION": header} if header else {}))
        with pytest.raises(ApiKeyAuthenticationFailed) as error:
            ManagementKeyAuthentication().authenticate(request)
        assert error.value.reason == reason


@pytest.mark.parametrize("kind", [ApiKeyKind.PAYG, ApiKeyKind.SUBSCRIPTION])
def test_a_valid_key_of_another_kind_is_403(user, kind):
    _, secret = make_key(account=user, kind=kind)
    response = call(f"Bearer {secret}")
    assert response.status_code == 403
    assert response.data["error"]["type"] == "access_denied"  # SPEC §7 body (apps.core.api handler)
    assert response.data["error"]["message"] == "This endpoint accepts management keys (sk-mg-v1-…) only."


@pytest.mark.parametrize("status", [AccountStatus.SUSPENDED, AccountStatus.BANNED])
def test_a_blocked_accounts_management_key_is_403(user, status):
    _, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    User.objects.filter(pk=user.pk).update(status=status)
    response = call(f"Bearer {secret}")
    assert response.status_code == 403
    request = APIRequestFactory().get("/probe", HTTP_AUTHORIZATION=f"Bearer {secret}")
    with pytest.raises(ApiKeyAccessDenied) as error:
        ManagementKeyAuthentication().authenticate(request)
    assert error.value.reason == "account_blocked"


def test_a_monitored_account_still_authenticates(user):
    _, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    User.objects.filter(pk=user.pk).update(status=AccountStatus.MONITORED)
    assert call(f"Bearer {secret}").status_code == 200
