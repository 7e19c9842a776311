"""Output shapes of the management API and the envelope/error shapes documented in the schema.

Amounts, Flows and rates are JSON numbers (as in the reference product's documentation), already
rounded by the selectors through apps.core.money: Flows and USD to 6 places (window USD values to the
cent, as on the subscription page), rates to 12, `usage_percentage` to 4. Times are ISO 8601 in UTC.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers


class NumberField(serializers.DecimalField):
    """A Decimal written as a JSON number, exactly as the selector rounded it (no re-rounding here)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, coerce_to_string=False, **kwargs)


@extend_schema_field(OpenApiTypes.NUMBER)
class MetricValueField(serializers.Field):
    """A token count (int) or a USD amount (Decimal, 6 places), written as a JSON number as it is."""

    def to_representation(self, value):
        return value


class PlanSerializer(serializers.Serializer):
    tier = serializers.CharField(help_text=_("Plan tier: free, pro, max or ultra."))
    amount_usd = NumberField(help_text=_("Monthly plan price (USD)."))
    interval = serializers.CharField(help_text=_('Billing cycle, always "month".'))
    expires_at = serializers.DateTimeField(help_text=_("End of the current billing cycle (Free too)."))


class QuotaWindowSerializer(serializers.Serializer):
    usage_percentage = NumberField(help_text=_("Fraction of the window consumed (0–1), 4 decimal places."))
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the window resets; null while it is idle (not started).")
    )
    max_flows = NumberField(help_text=_("Maximum Flows in this window."))
    used_flows = NumberField(help_text=_("Flows consumed so far."))
    remaining_flows = NumberField(help_text=_("Flows remaining (never below 0)."))
    used_value_usd = NumberField(help_text=_("USD value of the consumed Flows at the effective rate."))
    max_value_usd = NumberField(help_text=_("USD value of the window's quota at the effective rate."))


class MonthlyQuotaSerializer(serializers.Serializer):
    max_flows = NumberField(help_text=_("Maximum Flows in the current billing cycle."))
    max_value_usd = NumberField(help_text=_("USD value of the monthly quota at the effective rate."))


class SubscriptionDetailSerializer(serializers.Serializer):
    plan = PlanSerializer()
    currency = serializers.CharField(help_text=_('Always "usd".'))
    base_usd_per_flow = NumberField(help_text=_("The platform's base rate (USD per Flow)."))
    effective_usd_per_flow = NumberField(
        help_text=_("This account's effective rate: base rate × its flow value multiplier.")
    )
    account_status = serializers.ChoiceField(
        choices=[
            ("healthy", _("Healthy")),
            ("monitored", _("Monitored")),
            ("abusive", _("Abusive")),
            ("suspended", _("Suspended")),
            ("banned", _("Banned")),
        ],
        help_text=_("Account status."),
    )
    quota_5_hour = QuotaWindowSerializer(help_text=_("The 5-hour window."))
    quota_7_day = QuotaWindowSerializer(help_text=_("The 7-day window."))
    quota_monthly = MonthlyQuotaSerializer(help_text=_("The monthly cap (limits only)."))
    resets_remaining = serializers.IntegerField(
        help_text=_(
            "Extension field (not in the reference product): manual 5-hour window resets left in the "
            "current billing cycle (0 on Free)."
        )
    )


class FlowRateSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text=_('Always "usd".'))
    base_usd_per_flow = NumberField()
    effective_usd_per_flow = NumberField()


class PaygBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text=_('Always "usd".'))
    total_credits = NumberField(help_text=_("Top-up + bonus credits − arrears (negative while in arrears)."))
    top_up_credits = NumberField()
    bonus_credits = NumberField(help_text=_("Bonus and compensation credits."))


class GenerationSerializer(serializers.Serializer):
    id = serializers.CharField(source="request_id", help_text=_("The gateway's request id."))
    model = serializers.CharField(source="model.slug")
    created = serializers.DateTimeField(source="created_at")
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = NumberField()
    flows = NumberField(help_text=_("Flows charged to the subscription (0 when billed to the wallet)."))
    billed_to = serializers.ChoiceField(
        choices=[("subscription", _("Subscription")), ("payg", _("Pay-as-you-go"))]
    )
    extra_usage = serializers.BooleanField(help_text=_("Billed to the wallet through Extra Usage."))
    api_key_id = serializers.IntegerField()


class KeyLimitsSerializer(serializers.Serializer):
    spend_limit = NumberField(
        allow_null=True,
        help_text=_(
            "Spend allowed per period: Flows for subscription keys, USD for pay-as-you-go keys; null: none."
        ),
    )
    spend_limit_period = serializers.CharField(
        allow_null=True,
        help_text=_("day, week, month or total (UTC calendar periods); null without a limit."),
    )
    allowed_models = serializers.ListField(
        child=serializers.CharField(), help_text=_("Model allow-list; empty: no restriction.")
    )
    rpm_limit = serializers.IntegerField(
        allow_null=True, help_text=_("The key's own requests-per-minute cap; null: the plan's only.")
    )


class ApiKeyInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text=_("subscription or payg."))
    key = serializers.CharField(source="masked", help_text=_("Display prefix and last four characters."))
    status = serializers.CharField(help_text=_("enabled or disabled."))
    limits = KeyLimitsSerializer()


class ApiKeysSerializer(serializers.Serializer):
    keys = ApiKeyInfoSerializer(many=True, help_text=_("The account's inference keys, oldest first."))


class GenerationsSerializer(serializers.Serializer):
    generations = GenerationSerializer(many=True, help_text=_("Newest first."))
    has_more = serializers.BooleanField(help_text=_("More generations follow in this range."))
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text=_("Pass as `cursor` (same range) for the next page; null on the last page."),
    )


class SeriesSerializer(serializers.Serializer):
    model = serializers.CharField(help_text=_("Model slug, or __others__ for the models past `limit`."))
    total = MetricValueField()
    values = serializers.ListField(child=MetricValueField(), help_text=_("One value per bucket, in order."))


class TimeseriesSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=[("tokens", _("Tokens")), ("cost", _("Cost"))])
    unit = serializers.SerializerMethodField()
    bucket_width = serializers.ChoiceField(choices=["1d", "1w"])
    starting_at = serializers.DateTimeField()
    ending_at = serializers.DateTimeField()
    buckets = serializers.ListField(
        child=serializers.DateTimeField(), help_text=_("Bucket starts (UTC days or ISO weeks).")
    )
    series = SeriesSerializer(many=True)

    def get_unit(self, obj) -> str:
        return "tokens" if obj.metric == "tokens" else "usd"


def envelope(name: str, data_serializer: type[serializers.Serializer]):
    """`{"success": true, "data": …}` for the schema."""
    return inline_serializer(
        name=name, fields={"success": serializers.BooleanField(default=True), "data": data_serializer()}
    )


ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "success": serializers.BooleanField(default=False),
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text=_('The HTTP status as a string, e.g. "401".')),
                "type": serializers.CharField(
                    help_text=_("invalid_params, unauthorized, access_denied, not_found, rate_limit, …")
                ),
                "message": serializers.CharField(help_text=_("Human-readable text (English or Chinese).")),
            },
        ),
    },
)


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text=_("The endpoint's id."))
    url = serializers.URLField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField(), help_text=_("The event types it receives."))
    enabled = serializers.BooleanField(help_text=_("False after deliveries failed for about a day."))
    created_at = serializers.DateTimeField()


class WebhookEndpointListSerializer(serializers.Serializer):
    endpoints = WebhookEndpointSerializer(many=True)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text=_("The signing secret (Standard Webhooks, whsec_…). Returned only in this response.")
    )


class WebhookEndpointDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField(default=True)
