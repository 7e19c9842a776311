from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import ApplicationError
from apps.core.money import flows_to_usd, value_multiplier
from apps.plans.models import CatalogModel, FlowRate, Plan, Subscription
from apps.plans.selectors import flow_rates_in_effect
from apps.plans.services import FLOW_RATE_NOT_POSITIVE, flow_rate_create

MUST_NOT_BE_NEGATIVE = _("This value cannot be negative.")
MUST_BE_POSITIVE = _("This value must be greater than 0.")


def _current_rate_subquery(field: str) -> Subquery:
    return Subquery(flow_rates_in_effect().values(field)[:1])


class _NonNegativeFieldsForm(forms.ModelForm):
    def _non_negative(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and value < 0:
            raise forms.ValidationError(MUST_NOT_BE_NEGATIVE, code="negative")
        return value


class PlanAdminForm(_NonNegativeFieldsForm):
    class Meta:
        model = Plan
        fields = [
            "name",
            "tier",
            "rank",
            "tagline",
            "is_public",
            "price_usd",
            "quota_5h_flows",
            "weekly_max_flows",
            "monthly_max_flows",
            "rpm",
        ]

    def clean_price_usd(self):
        return self._non_negative("price_usd")

    def clean_quota_5h_flows(self):
        return self._non_negative("quota_5h_flows")

    def clean_weekly_max_flows(self):
        return self._non_negative("weekly_max_flows")

    def clean_monthly_max_flows(self):
        return self._non_negative("monthly_max_flows")

    def clean_rpm(self):
        value = self.cleaned_data.get("rpm")
        if value is not None and value <= 0:
            raise forms.ValidationError(MUST_BE_POSITIVE, code="not_positive")
        return value


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanAdminForm
    list_display = [
        "name",
        "tier",
        "rank",
        "price_usd",
        "quota_5h_flows",
        "weekly_max_flows",
        "monthly_max_flows",
        "rpm",
        "is_public",
        "usd_equivalent",
        "multiplier",
    ]
    list_editable = [
        "price_usd",
        "quota_5h_flows",
        "weekly_max_flows",
        "monthly_max_flows",
        "rpm",
        "is_public",
    ]
    list_filter = ["is_public"]
    search_fields = ["name", "tier"]
    ordering = ["rank"]
    fieldsets = (
        (None, {"fields": ("name", "tier", "rank", "tagline", "is_public")}),
        (
            _("Price and limits"),
            {"fields": ("price_usd", "quota_5h_flows", "weekly_max_flows", "monthly_max_flows", "rpm")},
        ),
    )

    def get_queryset(self, request):
        # The current rate comes with the rows (one query), for the derived columns.
        return super().get_queryset(request).annotate(current_rate=_current_rate_subquery("usd_per_flow"))

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", PlanAdminForm)
        return super().get_changelist_form(request, **kwargs)

    def _usd_value(self, obj) -> Decimal | None:
        rate = getattr(obj, "current_rate", None)
        if rate is None or obj.is_free:
            return None
        return flows_to_usd(obj.monthly_max_flows, rate)

    @admin.display(description=_("USD equivalent value"))
    def usd_equivalent(self, obj):
        value = self._usd_value(obj)
        return "—" if value is None else f"${value}"

    @admin.display(description=_("Value multiplier"))
    def multiplier(self, obj):
        value = self._usd_value(obj)
        multiplier = value_multiplier(value, obj.price_usd) if value is not None else None
        return "—" if multiplier is None else f"{multiplier}x"


class CatalogModelAdminForm(_NonNegativeFieldsForm):
    class Meta:
        model = CatalogModel
        fields = [
            "slug",
            "display_name",
            "provider",
            "category",
            "sort_order",
            "min_plan",
            "status",
            "input_usd_per_mtok",
            "output_usd_per_mtok",
            "usd_per_request",
        ]

    def clean_input_usd_per_mtok(self):
        return self._non_negative("input_usd_per_mtok")

    def clean_output_usd_per_mtok(self):
        return self._non_negative("output_usd_per_mtok")

    def clean_usd_per_request(self):
        return self._non_negative("usd_per_request")


class HasListPricesFilter(admin.SimpleListFilter):
    title = _("list prices")
    parameter_name = "list_prices"

    def lookups(self, request, model_admin):
        return [("yes", _("Has list prices")), ("no", _("No list prices"))]

    def queryset(self, request, queryset):
        priced = (
            queryset.filter(input_usd_per_mtok__isnull=False)
            | queryset.filter(output_usd_per_mtok__isnull=False)
            | queryset.filter(usd_per_request__isnull=False)
        )
        if self.value() == "yes":
            return priced
        if self.value() == "no":
            return queryset.exclude(pk__in=priced.values("pk"))
        return queryset


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    form = CatalogModelAdminForm
    list_display = [
        "slug",
        "display_name",
        "provider",
        "category",
        "min_plan",
        "status",
        "input_usd_per_mtok",
        "output_usd_per_mtok",
        "usd_per_request",
    ]
    list_editable = ["min_plan", "status"]
    list_filter = ["min_plan", "status", "category", HasListPricesFilter, "provider"]
    search_fields = ["slug", "display_name", "provider"]
    list_select_related = ["min_plan"]
    ordering = ["provider", "sort_order", "slug"]
    list_per_page = 200
    fieldsets = (
        (None, {"fields": ("slug", "display_name", "provider", "category", "sort_order")}),
        (_("Availability"), {"fields": ("min_plan", "status")}),
        (
            _("List prices"),
            {
                "fields": ("input_usd_per_mtok", "output_usd_per_mtok", "usd_per_request"),
                "description": _(
                    "Used to price a request when the gateway reports no cost. Leave empty if unknown."
                ),
            },
        ),
    )

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", CatalogModelAdminForm)
        return super().get_changelist_form(request, **kwargs)


class FlowRateAdminForm(forms.ModelForm):
    class Meta:
        model = FlowRate
        fields = ["usd_per_flow", "effective_from", "note"]

    def clean_usd_per_flow(self):
        value = self.cleaned_data.get("usd_per_flow")
        if value is not None and value <= 0:
            raise forms.ValidationError(FLOW_RATE_NOT_POSITIVE, code="flow_rate_not_positive")
        return value


@admin.register(FlowRate)
class FlowRateAdmin(admin.ModelAdmin):
    """Rates are dated history: staff add a new rate; an existing one keeps its value and date."""

    form = FlowRateAdminForm
    list_display = [
        "usd_per_flow",
        "flows_per_usd",
        "effective_from",
        "state",
        "note",
        "created_by",
        "created_at",
    ]
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "effective_from"

    def get_queryset(self, request):
        # Which row is current is computed in the same query as the list.
        return super().get_queryset(request).annotate(current_id=_current_rate_subquery("id"))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["usd_per_flow", "effective_from", "created_by", "created_at"]
        return self.readonly_fields

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("effective_from", timezone.now())
        return initial

    def get_actions(self, request):
        # Bulk delete would bypass the per-rate check below.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # Only a rate that has not taken effect yet can be withdrawn; the history stays intact.
        if obj is not None and obj.effective_from <= timezone.now():
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("Flows per $1"))
    def flows_per_usd(self, obj):
        return f"{Decimal(1) / obj.usd_per_flow:.2f}"

    @admin.display(description=_("State"))
    def state(self, obj):
        if obj.effective_from > timezone.now():
            return _("Scheduled")
        if obj.pk == getattr(obj, "current_id", None):
            return _("Current")
        return _("Superseded")

    def save_model(self, request, obj, form, change):
        if change:  # only the note can change on an existing rate
            super().save_model(request, obj, form, change)
            return
        try:
            created = flow_rate_create(
                usd_per_flow=form.cleaned_data["usd_per_flow"],
                effective_from=form.cleaned_data["effective_from"],
                note=form.cleaned_data.get("note", ""),
                actor=request.user,
            )
        except ApplicationError as error:  # the form already refuses this; kept for defence in depth
            self.message_user(request, error.message, level=messages.ERROR)
            return
        # The admin logs and redirects with `obj`: give it the row the service created.
        for field in FlowRate._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "scheduled_plan",
    ]
    list_filter = ["plan", "status"]
    search_fields = ["account__email"]
    list_select_related = ["account", "plan", "scheduled_plan"]
    readonly_fields = ["account"]
