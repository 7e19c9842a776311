"""DRF authentication with management keys (SPEC §11): `Authorization: Bearer sk-mg-v1-…`.

Missing, malformed, unknown, disabled or deleted keys → `ApiKeyAuthenticationFailed` (401); a valid key
of another kind or an account that is suspended/banned → `ApiKeyAccessDenied` (403). Both carry a
stable `reason` (and DRF `default_code`) for the management API's error body.
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.api_keys.exceptions import ApiKeyRefused
from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_authenticate, api_key_touch

MISSING = "missing"
ACCOUNT_BLOCKED = "account_blocked"

FAILED_MESSAGES = {
    MISSING: _("Missing API key: send the header “Authorization: Bearer sk-mg-v1-…”."),
    ApiKeyRefused.MALFORMED: _("Malformed API key."),
    ApiKeyRefused.UNKNOWN: _("Unknown API key."),
    ApiKeyRefused.DISABLED: _("This API key is disabled."),
    ApiKeyRefused.DELETED: _("This API key has been deleted."),
}
DENIED_MESSAGES = {
    ApiKeyRefused.WRONG_KIND: _("This endpoint accepts management keys (sk-mg-v1-…) only."),
    ACCOUNT_BLOCKED: _("This account is suspended or banned; its keys are refused."),
}


class ApiKeyAuthenticationFailed(exceptions.AuthenticationFailed):
    default_code = "unauthorized"

    def __init__(self, reason: str):
        super().__init__(FAILED_MESSAGES[reason])
        self.reason = reason


class ApiKeyAccessDenied(exceptions.PermissionDenied):
    default_code = "access_denied"

    def __init__(self, reason: str):
        super().__init__(DENIED_MESSAGES[reason])
        self.reason = reason


class ManagementKeyAuthentication(BaseAuthentication):
    """Authenticates `(account, key)`; every other outcome raises (there is no anonymous access)."""

    keyword = b"bearer"
    expected_kinds = frozenset({ApiKeyKind.MANAGEMENT})

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts:
            raise ApiKeyAuthenticationFailed(MISSING)
        if parts[0].lower() != self.keyword or len(parts) != 2:
            raise ApiKeyAuthenticationFailed(ApiKeyRefused.MALFORMED)
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise ApiKeyAuthenticationFailed(ApiKeyRefused.MALFORMED) from error
        try:
            key = api_key_authenticate(secret=secret, expected_kinds=set(self.expected_kinds))
        except ApiKeyRefused as refused:
            if refused.reason in ApiKeyRefused.ACCOUNT_REASONS:
                raise ApiKeyAccessDenied(ACCOUNT_BLOCKED) from refused
            if refused.reason == ApiKeyRefused.WRONG_KIND:
                raise ApiKeyAccessDenied(refused.reason) from refused
            raise ApiKeyAuthenticationFailed(refused.reason) from refused
        account = key.account
        api_key_touch(key=key)
        return account, key

    def authenticate_header(self, request):
        return 'Bearer realm="management"'


class ManagementKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api_keys.authentication.ManagementKeyAuthentication"
    name = "managementKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": gettext("A management key (sk-mg-v1-…) created in the console."),
        }
