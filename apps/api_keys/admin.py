from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.api_keys.models import ApiKey, ApiKeyStatus
from apps.api_keys.services import SECRET_RE, api_key_hash, api_key_set_status
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.exceptions import ApplicationError


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Staff see keys by display prefix and last four only (never the hash); they change status through
    the service, so every change is audited with the staff member as actor."""

    list_display = [
        "name",
        "masked",
        "account",
        "kind",
        "status",
        "created_at",
        "last_used_at",
        "deleted_at",
        "used_flows",
        "used_usd",
        "request_count",
    ]
    list_filter = ["kind", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "account__email", "prefix", "last_four"]
    search_help_text = _("Name, account e-mail or key prefix; a full secret finds the key it belongs to.")
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "account",
        "kind",
        "name",
        "status",
        "masked",
        "created_at",
        "updated_at",
        "last_used_at",
        "deleted_at",
        "used_flows",
        "used_usd",
        "request_count",
    ]
    readonly_fields = fields
    actions = ["disable_keys", "enable_keys"]

    @admin.display(description=_("key"))
    def masked(self, obj: ApiKey) -> str:
        return obj.masked

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if SECRET_RE.fullmatch(term):  # a leaked key reported to staff: find it by its hash
            return queryset.filter(secret_hash=api_key_hash(term)), False
        return super().get_search_results(request, queryset, search_term)

    def _set_status(self, request, queryset, status: str) -> int:
        changed = 0
        for key in queryset.live().exclude(status=status).select_related("account"):
            try:
                api_key_set_status(account=key.account, key_id=key.pk, status=status, actor=request.user)
            except ApplicationError as error:
                self.message_user(request, f"{key}: {error.message}", level=messages.ERROR)
            else:
                changed += 1
        return changed

    @admin.action(description=_("Disable selected keys"))
    def disable_keys(self, request, queryset):
        changed = self._set_status(request, queryset, ApiKeyStatus.DISABLED)
        self.message_user(
            request,
            ngettext("%(count)d key disabled.", "%(count)d keys disabled.", changed) % {"count": changed},
        )

    @admin.action(description=_("Enable selected keys"))
    def enable_keys(self, request, queryset):
        changed = self._set_status(request, queryset, ApiKeyStatus.ENABLED)
        self.message_user(
            request,
            ngettext("%(count)d key enabled.", "%(count)d keys enabled.", changed) % {"count": changed},
        )
