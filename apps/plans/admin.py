from django.contrib import admin

from apps.plans.models import CatalogModel, FlowRate, Plan, Subscription


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tier",
        "rank",
        "price_usd",
        "quota_5h_flows",
        "weekly_max_flows",
        "monthly_max_flows",
        "rpm",
    ]
    ordering = ["rank"]


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    list_display = ["slug", "display_name", "provider", "category", "min_plan", "status"]
    list_filter = ["provider", "category", "min_plan", "status"]
    search_fields = ["slug", "display_name"]
    list_select_related = ["min_plan"]


@admin.register(FlowRate)
class FlowRateAdmin(admin.ModelAdmin):
    list_display = ["usd_per_flow", "effective_from", "note", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


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
