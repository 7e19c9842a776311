from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.usage.models import QuotaWindow, QuotaWindowArchive, Reservation, UsageEvent


@admin.register(QuotaWindow)
class QuotaWindowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "kind", "started_at", "resets_at", "used_flows", "reserved_flows"]
    list_filter = ["kind"]
    search_fields = ["account__email"]
    list_select_related = ["account"]


@admin.register(QuotaWindowArchive)
class QuotaWindowArchiveAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "kind", "started_at", "ended_at", "used_flows"]
    list_filter = ["kind"]
    search_fields = ["account__email"]
    list_select_related = ["account"]


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["request_id", "account", "model", "decision", "extra_usage", "status", "created_at"]
    list_filter = ["status", "decision", "extra_usage"]
    search_fields = ["request_id", "account__email"]
    list_select_related = ["account", "model"]
    date_hierarchy = "created_at"


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "request_id",
        "account",
        "api_key",
        "model",
        "cost_usd",
        "flows",
        "billed_to",
    ]
    list_filter = ["billed_to", "extra_usage"]
    search_fields = ["request_id", "account__email"]
    list_select_related = ["account", "api_key", "model"]
    date_hierarchy = "created_at"
