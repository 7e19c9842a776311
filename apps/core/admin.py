from django.contrib import admin

from apps.core.models import AuditEvent


class ReadOnlyAdminMixin:
    """For records that are written only by services (audit trail, ledgers): view, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "event_type", "account", "actor", "subject_type", "subject_id"]
    list_filter = ["event_type"]
    search_fields = ["account__email", "actor__email", "event_type", "subject_id"]
    list_select_related = ["account", "actor"]
    date_hierarchy = "created_at"


class AuditEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AuditEvent
    fk_name = "account"
    fields = ["created_at", "event_type", "actor", "details"]
    readonly_fields = fields
    extra = 0
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "audit trail"
