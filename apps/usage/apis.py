"""Gateway metering API (SPEC §7): authorize, usage, release. Service-token authentication.

Its OpenAPI schema is internal: served at /api/v1/gateway/schema behind the service token (for the
gateway's developers and for fuzzing), never in the customers' schema at /api/v1/schema/.
"""

import hmac
import json
import re
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import api_success, exception_handler, request_language
from apps.core.exceptions import ApplicationError
from apps.usage.models import MAX_USER_AGENT
from apps.usage.services import client_info_clean, meter_authorize, meter_release, meter_usage
from apps.usage.services.common import MAX_REQUEST_USD, MAX_TOKENS

MAX_USD = MAX_REQUEST_USD


def gateway_token_valid(request) -> bool:
    """`Authorization: Bearer <settings.GATEWAY_TOKEN>`, compared in constant time."""
    expected = settings.GATEWAY_TOKEN or ""
    scheme, _sep, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    )


class GatewayTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <settings.GATEWAY_TOKEN>`, compared in constant time."""

    def authenticate(self, request):
        if not gateway_token_valid(request):
            raise exceptions.AuthenticationFailed(_("Missing or invalid gateway service token."))
        return (None, "gateway")

    def authenticate_header(self, request):
        return 'Bearer realm="gateway"'


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers, booleans and objects instead of converting them."""

    default_error_messages = {"invalid": _("Must be a string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": _("Must be a whole number.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,6})?$", "example": "0.0123"},
)
class UsdField(serializers.DecimalField):
    """A USD amount ≥ 0 as a decimal string (or a JSON number); rounded to 6 places by the service."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, min_value=0, max_value=MAX_USD, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class GatewayTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.usage.apis.GatewayTokenAuthentication"
    name = "gatewayToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "settings.GATEWAY_TOKEN"}


# --- Schema (internal) -------------------------------------------------------------------------------

ERROR_TYPES = (
    "invalid_params, unauthorized, access_denied, not_authorized, request_conflict, quota_exceeded, "
    "insufficient_credit, key_limit_exceeded, spend_cap_reached, model_not_available, model_not_allowed, invalid_model, rate_limit"
)
GatewayErrorSerializer = inline_serializer(
    name="GatewayError",
    fields={
        "success": serializers.BooleanField(default=False),
        "error": inline_serializer(
            name="GatewayErrorDetail",
            fields={
                "code": serializers.CharField(),
                "type": serializers.CharField(help_text=ERROR_TYPES),
                "message": serializers.CharField(),
                "resets_at": serializers.DateTimeField(
                    required=False,
                    allow_null=True,
                    help_text="quota_exceeded, key_limit_exceeded and spend_cap_reached only",
                ),
                "limit": serializers.CharField(required=False, help_text="key_limit_exceeded only: spend"),
                "period": serializers.CharField(
                    required=False,
                    help_text="key_limit_exceeded and spend_cap_reached: day, week, month (or total)",
                ),
            },
        ),
    },
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(GatewayErrorSerializer, description=description)


def _ok(name: str, fields: dict) -> OpenApiResponse:
    data = inline_serializer(name=f"{name}Data", fields=fields)
    return OpenApiResponse(
        inline_serializer(name=name, fields={"success": serializers.BooleanField(default=True), "data": data})
    )


COMMON_ERRORS = {
    400: _error("Malformed body or parameter (`invalid_params`; the message names the field)."),
    401: _error("Missing or wrong service token (`unauthorized`)."),
}
NUMBER = {"pattern": r"^\d+\.\d{6}$"}


class _SixPlaces(serializers.CharField):
    """A decimal string with 6 places, e.g. "0.050000"."""


def gateway_schema(*, summary: str, request, ok: OpenApiResponse, errors: dict):
    return extend_schema(
        summary=summary,
        tags=["Gateway"],
        request=request,
        responses={200: ok, **COMMON_ERRORS, **errors},
    )


class ClientRequestSerializer(serializers.Serializer):
    """The end client the gateway saw (optional; kept for abuse detection, IPs for a limited time)."""

    ip = StrictCharField(
        max_length=45,
        required=False,
        allow_null=True,
        default=None,
        help_text="The end client's IPv4 or IPv6 address.",
    )
    user_agent = StrictCharField(
        max_length=MAX_USER_AGENT,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text=f"The end client's User-Agent (at most {MAX_USER_AGENT} characters).",
    )


class AuthorizeRequestSerializer(serializers.Serializer):
    request_id = StrictCharField(max_length=128)
    api_key = StrictCharField(max_length=256)
    model = StrictCharField(max_length=128)
    estimated_cost_usd = UsdField(required=False, default=0)
    client = ClientRequestSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional: the end client's IP and User-Agent, stored with the request for abuse "
        "detection. IP addresses are cleared after FLOWPORT_CLIENT_IP_RETENTION_DAYS (default 30).",
    )


class UsageRequestSerializer(serializers.Serializer):
    request_id = StrictCharField(max_length=128)
    input_tokens = StrictIntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
    output_tokens = StrictIntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
    cost_usd = UsdField(required=False, allow_null=True, default=None)


class ReleaseRequestSerializer(serializers.Serializer):
    request_id = StrictCharField(max_length=128)


def _localized(response, language: str):
    """What LocaleMiddleware would add (these views skip it: apps/usage/middleware.py)."""
    patch_vary_headers(response, ("Accept-Language",))
    response.headers.setdefault("Content-Language", language)
    return response


def _refuse_constant(name: str):
    raise ValueError(name)


_RENDERER = JSONRenderer()
REQUIRED = object()
_USD_TEXT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,6})?")


def _lean_text(max_length: int, *, blank: bool = False, null: bool = False):
    """A StrictCharField's accepted values, narrowed: printable ASCII without surrounding spaces (the
    serializer would strip them), non-empty unless `blank`, at most `max_length` long."""

    def check(value):
        if value is None:
            return null, None
        ok = (
            type(value) is str
            and len(value) <= max_length
            and (blank or value != "")
            and value.isascii()
            and value.isprintable()
            and value.strip() == value
        )
        return ok, value

    return check


def _lean_count(value):
    """StrictIntegerField(min_value=0, max_value=MAX_TOKENS)."""
    return type(value) is int and 0 <= value <= MAX_TOKENS, value


def _lean_usd(*, null: bool = False):
    """UsdField, narrowed: a whole number or a decimal string of up to 7 + 6 digits, at most MAX_USD."""

    def check(value):
        if value is None:
            return null, None
        if not (type(value) is int or (type(value) is str and _USD_TEXT.fullmatch(value))):
            return False, None
        amount = Decimal(value)
        return 0 <= amount <= MAX_USD, amount

    return check


def _lean_client(value):
    """ClientRequestSerializer (null allowed): only its two fields, each narrowed as above."""
    if value is None:
        return True, None
    if type(value) is not dict or not value.keys() <= {"ip", "user_agent"}:
        return False, None
    ip_ok, ip = _lean_text(45, null=True)(value.get("ip"))
    agent_ok, agent = _lean_text(MAX_USER_AGENT, blank=True, null=True)(value.get("user_agent"))
    return ip_ok and agent_ok, {"ip": ip, "user_agent": agent}


class GatewayApi(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes: list = []
    renderer_classes = [JSONRenderer]

    def dispatch(self, request, *args, **kwargs):
        language = request_language(request)
        with translation.override(language):
            response = super().dispatch(request, *args, **kwargs)
        return _localized(response, language)

    # --- the lean lane (apps/usage/middleware.py) --------------------------------------------------------
    # Every inference request pays for one authorize and one usage, and DRF's request wrapping, content
    # negotiation and serializers (which deep-copy their fields on every call) cost about a third of a
    # millisecond of CPU per call, as much as the metering itself spends in Python (README "Metering
    # performance"). So a call whose body is plainly well formed is answered here: the service token, the
    # JSON body and each field are checked by the narrow rules below, which accept a subset of what the
    # serializers accept and give the same values (tests/usage/test_lean_lane.py holds them to it). Anything
    # else (a wrong token, another content type or Accept, a larger body, an unknown or unusual field, any
    # invalid value) returns None before anything is done, and the DRF view answers, with its exact error.
    # The service's answer and its refusals leave through the same envelope, exception handler and renderer.

    LEAN_MAX_BODY = 8 * 1024
    lean_fields: dict = {}  # field -> (check(value) -> (ok, value), the value when absent or REQUIRED)

    @staticmethod
    def serve(data: dict):
        """Call the service with the validated body; returns its result (with `as_data()`)."""
        raise NotImplementedError

    @classmethod
    def lean(cls, request) -> Response | None:
        """The answer to a plainly well-formed call, or None: the DRF view answers."""
        data = cls.lean_body(request)
        return None if data is None else cls.lean_answer(request, lambda: cls.serve(data))

    @classmethod
    def lean_body(cls, request) -> dict | None:
        """The validated body, or None: leave the call to the DRF view."""
        meta = request.META
        length = meta.get("CONTENT_LENGTH") or ""
        if (
            request.method != "POST"
            or request.content_type != "application/json"
            or request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8")
            or meta.get("HTTP_ACCEPT", "") not in ("", "*/*", "application/json")
            or not (length.isdigit() and 0 < int(length) <= cls.LEAN_MAX_BODY)
            or not gateway_token_valid(request)
        ):
            return None
        try:
            body = json.loads(request.body.decode(), parse_constant=_refuse_constant)
        except ValueError:  # also UnicodeDecodeError and the non-JSON constants
            return None
        if type(body) is not dict or not body.keys() <= cls.lean_fields.keys():
            return None
        data = {}
        for name, (check, default) in cls.lean_fields.items():
            if name not in body:
                if default is REQUIRED:
                    return None
                data[name] = default
                continue
            ok, data[name] = check(body[name])
            if not ok:
                return None
        return data

    @classmethod
    def lean_answer(cls, request, service) -> Response:
        """`service()`'s result (or refusal) as the DRF view would answer it."""
        language = request_language(request)
        try:
            with translation.override(language):
                response = api_success(service().as_data())
        except (ApplicationError, DatabaseError, exceptions.APIException) as exc:
            with translation.override(language):
                response = exception_handler(exc, {"request": request, "view": None})
            if response is None:  # an IntegrityError: a bug, as in the DRF view
                raise
            response.exception = True
        response.accepted_renderer = _RENDERER
        response.accepted_media_type = _RENDERER.media_type
        response.renderer_context = {}
        response.headers["Allow"] = "POST, OPTIONS"  # what APIView.finalize_response adds
        return _localized(response, language)

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AuthorizeApi(GatewayApi):
    InputSerializer = AuthorizeRequestSerializer
    lean_fields = {
        "request_id": (_lean_text(128), REQUIRED),
        "api_key": (_lean_text(256), REQUIRED),
        "model": (_lean_text(128), REQUIRED),
        "estimated_cost_usd": (_lean_usd(), Decimal(0)),
        "client": (_lean_client, None),
    }

    @staticmethod
    def serve(data: dict):
        return meter_authorize(
            request_id=data["request_id"],
            api_key=data["api_key"],
            model=data["model"],
            estimated_cost_usd=data["estimated_cost_usd"],
            client=client_info_clean(**(data["client"] or {})),
        )

    @gateway_schema(
        summary="Decide who pays for a request and reserve its estimate",
        request=InputSerializer,
        ok=_ok(
            "AuthorizeResponse",
            {
                "request_id": serializers.CharField(),
                "decision": serializers.ChoiceField(choices=["subscription", "payg"]),
                "extra_usage": serializers.BooleanField(),
                "account_id": serializers.IntegerField(),
                "key_id": serializers.IntegerField(),
                "reserved_flows": serializers.CharField(required=False),
                "reserved_usd": serializers.CharField(required=False),
                "rpm_remaining": serializers.IntegerField(allow_null=True),
            },
        ),
        errors={
            402: _error(
                "`quota_exceeded` (with resets_at), `insufficient_credit`, `key_limit_exceeded` (with "
                "limit, period and resets_at) or `spend_cap_reached` (with period and resets_at)."
            ),
            403: _error(
                "The key is unknown, disabled, deleted or a management key, or the account may not "
                "use keys (`access_denied`)."
            ),
            404: _error(
                "`invalid_model`, `model_not_available` or `model_not_allowed` (the key's allow-list)."
            ),
            409: _error("The request_id is known with another key or model (`request_conflict`)."),
            429: _error("RPM exceeded, the plan's or the key's own (`rate_limit`); see Retry-After."),
        },
    )
    def post(self, request):
        return api_success(self.serve(self.validated(self.InputSerializer)).as_data())


class UsageApi(GatewayApi):
    InputSerializer = UsageRequestSerializer
    lean_fields = {
        "request_id": (_lean_text(128), REQUIRED),
        "input_tokens": (_lean_count, 0),
        "output_tokens": (_lean_count, 0),
        "cost_usd": (_lean_usd(null=True), None),
    }

    @staticmethod
    def serve(data: dict):
        return meter_usage(
            request_id=data["request_id"],
            input_tokens=data["input_tokens"],
            output_tokens=data["output_tokens"],
            cost_usd=data["cost_usd"],
        )

    @gateway_schema(
        summary="Settle an authorized request with its actual cost",
        request=InputSerializer,
        ok=_ok(
            "UsageResponse",
            {
                "request_id": serializers.CharField(),
                "billed_to": serializers.CharField(help_text="subscription | payg"),
                "extra_usage": serializers.BooleanField(),
                "flows": serializers.CharField(),
                "cost_usd": serializers.CharField(),
            },
        ),
        errors={409: _error("Never authorized, or released (`not_authorized`).")},
    )
    def post(self, request):
        return api_success(self.serve(self.validated(self.InputSerializer)).as_data())


class ReleaseApi(GatewayApi):
    InputSerializer = ReleaseRequestSerializer
    lean_fields = {"request_id": (_lean_text(128), REQUIRED)}

    @staticmethod
    def serve(data: dict):
        return meter_release(request_id=data["request_id"])

    @gateway_schema(
        summary="Drop an authorized request's reservation; nothing is billed",
        request=InputSerializer,
        ok=_ok(
            "ReleaseResponse",
            {
                "request_id": serializers.CharField(),
                "status": serializers.ChoiceField(choices=["active", "settled", "released"]),
            },
        ),
        errors={409: _error("Never authorized (`not_authorized`).")},
    )
    def post(self, request):
        return api_success(self.serve(self.validated(self.InputSerializer)).as_data())


class GatewaySchemaApi(SpectacularAPIView):
    """The gateway API's own OpenAPI schema (internal: needs the service token)."""

    authentication_classes = [GatewayTokenAuthentication]
    permission_classes: list = []
    custom_settings = {
        "TITLE": "Flowport Gateway Metering API (internal)",
        "DESCRIPTION": "SPEC §7. Called by the platform's inference gateway with its service token.",
        "PREPROCESSING_HOOKS": ["apps.usage.schema.gateway_endpoints_only"],
    }

    def get(self, request, *args, **kwargs):
        request.user  # noqa: B018 - authenticate first: the schema is not public
        with translation.override("en"):
            return super().get(request, *args, **kwargs)
