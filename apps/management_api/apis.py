"""Management REST API (SPEC §11), mounted at /api/v1/management/. One APIView per operation.

Every request: management-key authentication (401 `unauthorized` / 403 `access_denied`), then the
per-endpoint per-key minute limit (422 `rate_limit` + Retry-After), then the key's request count is
bumped, then one selector call. Success: `{"success": true, "data": {…}}`; errors: SPEC §7 body.
"""

import math
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.api_keys.authentication import ManagementKeyAuthentication
from apps.api_keys.services import api_key_usage_add
from apps.core.api import api_success
from apps.core.exceptions import NotFoundError, RateLimitedError
from apps.management_api import selectors
from apps.management_api.serializers import (
    ApiKeysSerializer,
    ErrorSerializer,
    FlowRateSerializer,
    GenerationSerializer,
    GenerationsSerializer,
    PaygBalanceSerializer,
    SubscriptionDetailSerializer,
    TimeseriesSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointDeletedSerializer,
    WebhookEndpointListSerializer,
    WebhookEndpointSerializer,
    envelope,
)
from apps.management_api.throttling import ManagementRateThrottle
from apps.notifications import kinds as notification_kinds
from apps.notifications import selectors as notification_selectors
from apps.notifications import webhooks

TAG = "Management"
RATE_LIMITED_MESSAGE = _("Too many requests to this endpoint with this key. Try again in %(seconds)s s.")
GENERATION_NOT_FOUND = _("No generation with this id in this account.")
DATE_INVALID = _("Enter an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z.")
DATE_OUT_OF_RANGE = _("Dates must be between 2000-01-01 and 2999-12-31.")
RANGE_EMPTY = _("starting_at must be before ending_at.")
RANGE_TOO_LONG = _("The range spans %(count)s buckets of %(width)s; at most %(max)s are allowed.")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
DEFAULT_RANGE = timedelta(days=30)
MAX_GENERATIONS_RANGE = timedelta(days=366)
GENERATIONS_RANGE_TOO_LONG = _("The range may span at most %(days)s days.")
CURSOR_INVALID = _("Invalid cursor: pass the next_cursor of a previous page unchanged.")
CURSOR_SALT = "flowport.management.generations.cursor"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


COMMON_ERRORS = {
    401: _error(_("Missing, malformed, unknown, disabled or deleted management key (`unauthorized`).")),
    403: _error(_("A valid key of another kind, or the account is suspended/banned (`access_denied`).")),
    422: _error(_("This endpoint's per-key limit per minute is exhausted (`rate_limit`); see Retry-After.")),
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[422],
    description=_("Seconds until this endpoint's counter starts a new minute."),
)


def requested_language(request) -> str | None:
    """The first supported language of the Accept-Language header, or None."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in translation.trans_real.parse_accept_lang_header(header):
        if code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


def documented(
    *,
    operation_id: str,
    summary,
    description,
    data,
    errors: dict | None = None,
    parameters=None,
    request=None,
    status: int = 200,
):
    """`extend_schema` with the success envelope, the shared error responses and Retry-After."""
    name = f"{data.__name__.removesuffix('Serializer')}Response"
    responses = {status: OpenApiResponse(envelope(name, data), description=_("OK"))}
    responses.update(errors or {})
    responses.update(COMMON_ERRORS)
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        tags=[TAG],
        parameters=[RETRY_AFTER, *(parameters or [])],
        request=request,
        responses=responses,
    )


class EndpointRateLimited(RateLimitedError):
    """The per-endpoint limit of the management API answers 422 (as the reference product does, SPEC §7)."""

    status = 422


class ManagementApi(APIView):
    """Base: authentication, then the per-endpoint limit, then the key's request counter."""

    authentication_classes = [ManagementKeyAuthentication]
    permission_classes: list = []
    throttle_classes = [ManagementRateThrottle]
    throttle_scope = ""
    renderer_classes = [JSONRenderer]  # JSON for every client, browsers included

    def dispatch(self, request, *args, **kwargs):
        # /api/ is outside the language prefixes, so LocaleMiddleware always picks English there: messages
        # follow the Accept-Language header when it names a supported language, else the account's own.
        self.header_language = requested_language(request)
        with translation.override(self.header_language or settings.LANGUAGE_CODE):
            return super().dispatch(request, *args, **kwargs)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if self.header_language is None and request.user.preferred_language:
            translation.activate(request.user.preferred_language)  # undone when dispatch's override exits

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticates, then checks the throttle
        api_key_usage_add(key_id=request.auth.pk, requests=1)

    def throttled(self, request, wait):
        seconds = max(1, math.ceil(wait or 1))
        raise EndpointRateLimited(RATE_LIMITED_MESSAGE % {"seconds": seconds}, retry_after=seconds)

    def query(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class SubscriptionDetailApi(ManagementApi):
    throttle_scope = "subscription_detail"

    @documented(
        operation_id="subscription_detail",
        summary=_("Plan, Flow rates and quota windows"),
        description=_(
            "The current plan and billing cycle end, the base and effective USD per Flow, the account "
            "status, the 5-hour and 7-day windows (usage, reset time, maximum, used, remaining, USD values "
            "at the effective rate) and the monthly cap."
        ),
        data=SubscriptionDetailSerializer,
    )
    def get(self, request):
        detail = selectors.subscription_detail(account=request.user)
        return api_success(SubscriptionDetailSerializer(detail).data)


class ApiKeysApi(ManagementApi):
    throttle_scope = "keys"

    @documented(
        operation_id="keys",
        summary=_("Inference keys and their limits"),
        description=_(
            "The account's subscription and pay-as-you-go keys (masked) with their limits: spend per "
            "period, model allow-list and RPM cap. An extension of the reference product's API."
        ),
        data=ApiKeysSerializer,
    )
    def get(self, request):
        return api_success(ApiKeysSerializer(selectors.inference_keys_with_limits(account=request.user)).data)


class FlowRateApi(ManagementApi):
    throttle_scope = "flow_rate"

    @documented(
        operation_id="flow_rate",
        summary=_("Base and effective USD per Flow"),
        description=_("The platform's base rate and this account's effective rate (base × its multiplier)."),
        data=FlowRateSerializer,
    )
    def get(self, request):
        return api_success(FlowRateSerializer(selectors.flow_rate_detail(account=request.user)).data)


class PaygBalanceApi(ManagementApi):
    throttle_scope = "payg_balance"

    @documented(
        operation_id="payg_balance",
        summary=_("Pay-as-you-go wallet balance"),
        description=_("Total, top-up and bonus credits of the pay-as-you-go wallet, in USD."),
        data=PaygBalanceSerializer,
    )
    def get(self, request):
        return api_success(PaygBalanceSerializer(selectors.payg_balance(account=request.user)).data)


class GenerationApi(ManagementApi):
    throttle_scope = "generation"

    class InputSerializer(serializers.Serializer):
        id = serializers.CharField(max_length=128, help_text=_("The gateway's request id."))

    @documented(
        operation_id="generation",
        summary=_("One metered request of this account"),
        description=_(
            "Model, time, tokens, cost, Flows, who paid (subscription or pay-as-you-go, Extra Usage) and "
            "the API key of one request, by the request id the gateway returned."
        ),
        data=GenerationSerializer,
        parameters=[InputSerializer],
        errors={
            400: _error(_("`id` is missing or invalid (`invalid_params`).")),
            404: _error(_("No generation with this id in this account (`not_found`).")),
        },
    )
    def get(self, request):
        params = self.query(self.InputSerializer)
        event = selectors.generation_get(account=request.user, request_id=params["id"])
        if event is None:
            raise NotFoundError(GENERATION_NOT_FOUND)
        return api_success(GenerationSerializer(event).data)


@extend_schema_field({"type": "string", "example": "2026-11-01T00:00:00Z"})
class DateOrDateTimeField(serializers.Field):
    """ISO 8601 date (midnight UTC) or date-time (naive = UTC), returned as an aware UTC datetime."""

    default_error_messages = {"invalid": DATE_INVALID, "range": DATE_OUT_OF_RANGE}

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        text = data.strip()
        try:
            moment = parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                moment = datetime.combine(day, time.min) if isinstance(day, date) else None
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            self.fail("range")
        if not EARLIEST <= moment < LATEST:
            self.fail("range")
        return moment

    def to_representation(self, value):
        return value.isoformat()


class TimeseriesApi(ManagementApi):
    throttle_scope = "statistics_timeseries"

    class InputSerializer(serializers.Serializer):
        metric = serializers.ChoiceField(
            choices=selectors.METRICS,
            default=selectors.METRIC_TOKENS,
            help_text=_("tokens (input + output) or cost (USD)."),
        )
        bucket_width = serializers.ChoiceField(
            choices=tuple(selectors.BUCKET_WIDTHS),
            default=selectors.BUCKET_DAY,
            help_text=_("1d (UTC days) or 1w (ISO weeks, from Monday 00:00 UTC)."),
        )
        starting_at = DateOrDateTimeField(
            required=False, help_text=_("Start, inclusive (default: 30 days before ending_at).")
        )
        ending_at = DateOrDateTimeField(required=False, help_text=_("End, exclusive (default: now)."))
        limit = serializers.IntegerField(
            min_value=1,
            max_value=50,
            default=10,
            help_text=_("How many models get their own series; the rest are summed as __others__."),
        )

        def validate(self, attrs):
            ending_at = attrs.get("ending_at") or timezone.now()
            starting_at = attrs.get("starting_at") or max(EARLIEST, ending_at - DEFAULT_RANGE)
            if starting_at >= ending_at:
                raise serializers.ValidationError({"starting_at": RANGE_EMPTY})
            count = selectors.bucket_count(
                starting_at=starting_at, ending_at=ending_at, bucket_width=attrs["bucket_width"]
            )
            if count > selectors.MAX_BUCKETS:
                raise serializers.ValidationError(
                    {
                        "starting_at": RANGE_TOO_LONG
                        % {"count": count, "width": attrs["bucket_width"], "max": selectors.MAX_BUCKETS}
                    }
                )
            return {**attrs, "starting_at": starting_at, "ending_at": ending_at}

    @documented(
        operation_id="statistics_timeseries",
        summary=_("Per-model usage over time"),
        description=_(
            "Tokens or cost per model in UTC-day or ISO-week buckets over [starting_at, ending_at); the top "
            "`limit` models get their own series, the rest are summed as __others__. At most 60 buckets."
        ),
        data=TimeseriesSerializer,
        parameters=[InputSerializer],
        errors={
            400: _error(
                _("A parameter is invalid, or the range spans more than 60 buckets (`invalid_params`).")
            )
        },
    )
    def get(self, request):
        params = self.query(self.InputSerializer)
        series = selectors.usage_timeseries(account=request.user, **params)
        return api_success(TimeseriesSerializer(series).data)


@extend_schema_field({"type": "string", "example": "WyIyMDI2LTExLTAxVDAwOjAwOjAwKzAwOjAwIiw0Ml0:1v..."})
class CursorField(serializers.Field):
    """An opaque page cursor: the signed (created_at, id) of the last generation of the previous page."""

    default_error_messages = {"invalid": CURSOR_INVALID}

    @staticmethod
    def encode(after: tuple[datetime, int]) -> str:
        created_at, pk = after
        return signing.dumps([created_at.astimezone(UTC).isoformat(), pk], salt=CURSOR_SALT, compress=True)

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 200:
            self.fail("invalid")
        try:
            text, pk = signing.loads(data, salt=CURSOR_SALT)
            created_at = datetime.fromisoformat(text)
        except (signing.BadSignature, TypeError, ValueError):
            self.fail("invalid")
        if type(pk) is not int or created_at.tzinfo is None:
            self.fail("invalid")
        return created_at, pk


class GenerationsApi(ManagementApi):
    throttle_scope = "generations"

    class InputSerializer(serializers.Serializer):
        starting_at = DateOrDateTimeField(
            required=False, help_text=_("Start, inclusive (default: 30 days before ending_at).")
        )
        ending_at = DateOrDateTimeField(required=False, help_text=_("End, exclusive (default: now)."))
        limit = serializers.IntegerField(
            min_value=1, max_value=100, default=50, help_text=_("Generations per page (1-100).")
        )
        cursor = CursorField(required=False, help_text=_("The next_cursor of the previous page."))

        def validate(self, attrs):
            ending_at = attrs.get("ending_at") or timezone.now()
            starting_at = attrs.get("starting_at") or max(EARLIEST, ending_at - DEFAULT_RANGE)
            if starting_at >= ending_at:
                raise serializers.ValidationError({"starting_at": RANGE_EMPTY})
            if ending_at - starting_at > MAX_GENERATIONS_RANGE:
                raise serializers.ValidationError(
                    {"starting_at": GENERATIONS_RANGE_TOO_LONG % {"days": MAX_GENERATIONS_RANGE.days}}
                )
            return {**attrs, "starting_at": starting_at, "ending_at": ending_at}

    @documented(
        operation_id="generations",
        summary=_("This account's metered requests over a range"),
        description=_(
            "Settled requests in [starting_at, ending_at) (at most 366 days), newest first, `limit` per "
            "page. Pass `next_cursor` back as `cursor` with the same range for the next page."
        ),
        data=GenerationsSerializer,
        parameters=[InputSerializer],
        errors={
            400: _error(
                _("A parameter or the cursor is invalid, or the range is too long (`invalid_params`).")
            )
        },
    )
    def get(self, request):
        params = self.query(self.InputSerializer)
        page = selectors.generations_page(
            account=request.user,
            starting_at=params["starting_at"],
            ending_at=params["ending_at"],
            limit=params["limit"],
            after=params.get("cursor"),
        )
        data = {
            "generations": page.generations,
            "has_more": page.next_after is not None,
            "next_cursor": CursorField.encode(page.next_after) if page.next_after else None,
        }
        return api_success(GenerationsSerializer(data).data)


class WebhookEndpointsApi(ManagementApi):
    """List the account's webhook endpoints; create one (its signing secret is returned only then)."""

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=webhooks.MAX_URL_LENGTH, help_text=_("An https:// URL."))
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=list(notification_kinds.WEBHOOK_KINDS)),
            min_length=1,
            max_length=len(notification_kinds.WEBHOOK_KINDS),
            help_text=_("The event types to send."),
        )
        description = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def get_throttles(self):
        self.throttle_scope = (
            "webhook_endpoints_create" if self.request.method == "POST" else "webhook_endpoints"
        )
        return super().get_throttles()

    @documented(
        operation_id="webhook_endpoints_list",
        summary=_("Webhook endpoints"),
        description=_("The account's webhook endpoints: URL, events, and whether deliveries are enabled."),
        data=WebhookEndpointListSerializer,
    )
    def get(self, request):
        endpoints = notification_selectors.webhook_endpoints_for_account(account=request.user)
        return api_success(WebhookEndpointListSerializer({"endpoints": endpoints}).data)

    @documented(
        operation_id="webhook_endpoints_create",
        summary=_("Create a webhook endpoint"),
        description=_(
            "Register an https:// URL for the chosen event types. Deliveries are signed per the Standard "
            "Webhooks specification with the returned secret, which is shown only in this response. URLs "
            "resolving to private, loopback or link-local addresses are refused."
        ),
        data=WebhookEndpointCreatedSerializer,
        request=InputSerializer,
        status=201,
        errors={
            400: _error(
                _("Invalid URL or events, a refused address, or too many endpoints (`invalid_params`).")
            )
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = webhooks.webhook_endpoint_create(account=request.user, **serializer.validated_data)
        data = {**WebhookEndpointSerializer(created.endpoint).data, "secret": created.secret}
        return api_success(data, status_code=201)


class WebhookEndpointDetailApi(ManagementApi):
    throttle_scope = "webhook_endpoint_delete"

    @documented(
        operation_id="webhook_endpoints_delete",
        summary=_("Delete a webhook endpoint"),
        description=_("Delete one of the account's webhook endpoints and its delivery log."),
        data=WebhookEndpointDeletedSerializer,
        errors={404: _error(_("No webhook endpoint with this id in this account (`not_found`)."))},
    )
    def delete(self, request, endpoint_id):
        webhooks.webhook_endpoint_delete(account=request.user, public_id=endpoint_id)
        return api_success({"deleted": True})
