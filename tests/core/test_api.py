"""The shared API error format (SPEC §7) for exceptions the gateway and management APIs raise."""

from datetime import UTC, datetime

import pytest
from rest_framework import exceptions, serializers
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.core.api import api_success
from apps.core.exceptions import ApplicationError, NotFoundError
from apps.management_api.apis import EndpointRateLimited
from apps.usage.exceptions import QuotaExceeded, RateLimited


class Probe(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    raise_exc = None

    def post(self, request):
        if self.raise_exc is not None:
            raise self.raise_exc
        return api_success({"ok": True})


class Nested(serializers.Serializer):
    class Inner(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1)

    inner = Inner()


def call(exc):
    view = Probe.as_view(raise_exc=exc)
    return view(APIRequestFactory().post("/probe", {}, format="json"))


@pytest.mark.parametrize(
    ("exc", "status", "type_", "headers"),
    [
        (EndpointRateLimited("Slow down.", retry_after=7), 422, "rate_limit", {"Retry-After": "7"}),
        (RateLimited("Slow down.", retry_after=2), 429, "rate_limit", {"Retry-After": "2"}),
        (ApplicationError("Refused.", code="same_plan"), 400, "invalid_params", {}),
        (NotFoundError("Gone."), 404, "not_found", {}),
        (exceptions.Throttled(wait=2.2), 429, "rate_limit", {"Retry-After": "3"}),
        (exceptions.PermissionDenied("no"), 403, "access_denied", {}),
        (exceptions.NotFound(), 404, "not_found", {}),
        (exceptions.ParseError("bad json"), 400, "invalid_params", {}),
    ],
)
def test_errors_leave_in_the_spec_format(exc, status, type_, headers):
    response = call(exc)
    assert response.status_code == status
    assert response.data["success"] is False
    assert response.data["error"]["code"] == str(status)
    assert response.data["error"]["type"] == type_
    assert response.data["error"]["message"]
    for name, value in headers.items():
        assert response[name] == value


def test_validation_error_names_the_nested_field():
    serializer = Nested(data={"inner": {"limit": 0}})
    assert not serializer.is_valid()
    response = call(exceptions.ValidationError(serializer.errors))
    assert response.status_code == 400
    assert response.data["error"]["type"] == "invalid_params"
    assert response.data["error"]["message"].startswith("Invalid parameter inner.limit:")


def test_success_envelope():
    response = call(None)
    assert response.data == {"success": True, "data": {"ok": True}}


def test_an_application_error_carries_its_status_type_and_extra_fields():
    response = call(QuotaExceeded("Used up.", resets_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert response.status_code == 402
    assert response.data["error"] == {
        "code": "402",
        "type": "quota_exceeded",
        "message": "Used up.",
        "resets_at": "2026-01-01T00:00:00Z",
    }
