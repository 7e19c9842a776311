"""Staff views of notifications, webhook endpoints and deliveries (read-only; signing secrets never shown)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.notifications.models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "in_inbox", "read_at"]
    list_filter = ["kind", "in_inbox"]
    search_fields = ["account__email", "dedupe_key"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = ["account", "kind", "data", "dedupe_key", "in_inbox", "read_at", "created_at"]
    readonly_fields = fields


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "url", "enabled", "disabled_at"]
    list_filter = ["enabled"]
    search_fields = ["account__email", "url"]
    list_select_related = ["account"]
    fields = [
        "account",
        "url",
        "description",
        "events",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "created_at",
    ]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "endpoint", "kind", "status", "attempts", "status_code", "latency_ms"]
    list_filter = ["status", "kind"]
    search_fields = ["message_id", "endpoint__url", "endpoint__account__email"]
    list_select_related = ["endpoint"]
    fields = [
        "message_id",
        "endpoint",
        "kind",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "status_code",
        "latency_ms",
        "error",
        "created_at",
    ]
    readonly_fields = fields
