from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.billing.models import Payment, PaymentMethod
from apps.core.admin import ReadOnlyAdminMixin

DISPUTE_LABELS = {"open": _("open"), "won": _("won"), "lost": _("lost")}


class DisputeFilter(admin.SimpleListFilter):
    """Payments a bank dispute was opened on (recorded by billing in `metadata["dispute"]`), by its status."""

    title = _("dispute")
    parameter_name = "dispute"

    def lookups(self, request, model_admin):
        return list(DISPUTE_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() in DISPUTE_LABELS:
            return queryset.filter(metadata__dispute__status=self.value())
        return queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "purpose",
        "amount_usd",
        "refunded_usd",
        "status",
        "dispute",
        "provider",
        "receipt_number",
    ]
    list_filter = ["purpose", "status", DisputeFilter, "provider"]
    search_fields = ["account__email", "receipt_number", "external_id", "idempotency_key"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"

    @admin.display(description=_("dispute"))
    def dispute(self, payment: Payment) -> str:
        dispute = (payment.metadata or {}).get("dispute") or {}
        if not dispute:
            return "—"
        return f"{DISPUTE_LABELS.get(dispute.get('status'), dispute.get('status'))} · {dispute.get('reason', '')}"


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "brand", "last4", "provider", "is_default", "created_at"]
    list_select_related = ["account"]
