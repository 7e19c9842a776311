"""Gateway metering API (SPEC §7): authorize, usage, release. Service-token authentication."""

import hmac

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.views import APIView

from apps.core.api import api_success, request_language
from apps.usage.services import meter_authorize, meter_release, meter_usage

MAX_TOKENS = 2**62
MAX_USD = 1_000_000


class GatewayTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <settings.GATEWAY_TOKEN>`, compared in constant time."""

    def authenticate(self, request):
        expected = settings.GATEWAY_TOKEN or ""
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if (
            not expected
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(token.strip().encode(), expected.encode())
        ):
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


class UsdField(serializers.DecimalField):
    """A USD amount ≥ 0 as a decimal string (or a JSON number); rounded to 6 places by the service."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, min_value=0, max_value=MAX_USD, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class GatewayApi(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes: list = []
    schema = None  # internal API for the inference gateway: not in the customers' OpenAPI schema

    def dispatch(self, request, *args, **kwargs):
        with translation.override(request_language(request)):
            return super().dispatch(request, *args, **kwargs)

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AuthorizeApi(GatewayApi):
    class InputSerializer(serializers.Serializer):
        request_id = StrictCharField(max_length=128)
        api_key = StrictCharField(max_length=256)
        model = StrictCharField(max_length=128)
        estimated_cost_usd = UsdField(required=False, default=0)

    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = meter_authorize(
            request_id=data["request_id"],
            api_key=data["api_key"],
            model=data["model"],
            estimated_cost_usd=data["estimated_cost_usd"],
        )
        return api_success(result.as_data())


class UsageApi(GatewayApi):
    class InputSerializer(serializers.Serializer):
        request_id = StrictCharField(max_length=128)
        input_tokens = StrictIntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
        output_tokens = StrictIntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
        cost_usd = UsdField(required=False, allow_null=True, default=None)

    def post(self, request):
        data = self.validated(self.InputSerializer)
        result = meter_usage(
            request_id=data["request_id"],
            input_tokens=data["input_tokens"],
            output_tokens=data["output_tokens"],
            cost_usd=data["cost_usd"],
        )
        return api_success(result.as_data())


class ReleaseApi(GatewayApi):
    class InputSerializer(serializers.Serializer):
        request_id = StrictCharField(max_length=128)

    def post(self, request):
        data = self.validated(self.InputSerializer)
        return api_success(meter_release(request_id=data["request_id"]).as_data())
