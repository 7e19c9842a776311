from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.extra_usage.models import ExtraUsageSetting


@admin.register(ExtraUsageSetting)
class ExtraUsageSettingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "enabled", "payg_key", "enabled_at", "auto_off_reason", "auto_off_at"]
    list_filter = ["enabled"]
    search_fields = ["account__email"]
    list_select_related = ["account", "payg_key"]
