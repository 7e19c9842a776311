from django.contrib import admin

from apps.billing.models import Payment, PaymentMethod
from apps.core.admin import ReadOnlyAdminMixin


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "account",
        "purpose",
        "amount_usd",
        "refunded_usd",
        "status",
        "provider",
        "receipt_number",
    ]
    list_filter = ["purpose", "status", "provider"]
    search_fields = ["account__email", "receipt_number", "external_id", "idempotency_key"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "brand", "last4", "provider", "is_default", "created_at"]
    list_select_related = ["account"]
