from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.exceptions import ApplicationError
from apps.refunds.models import Refund, RefundAllocation, RefundStatus
from apps.refunds.services import refund_cancel


class RefundAllocationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RefundAllocation
    fields = ["payment_link", "amount_usd", "status", "external_id", "idempotency_key"]
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("payment"))
    def payment_link(self, obj):
        url = reverse("admin:billing_payment_change", args=[obj.payment_id])
        return format_html('<a href="{}">{}</a>', url, obj.payment)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "plan", "amount_usd", "status", "settled_at"]
    list_filter = ["status"]
    search_fields = ["account__email", "idempotency_key", "allocations__external_id"]
    list_select_related = ["account", "plan"]
    date_hierarchy = "created_at"
    actions = ["cancel_refunds"]
    inlines = [RefundAllocationInline]
    fields = [
        "account_link",
        "plan",
        "period_start",
        "period_end",
        "payment_links",
        "total_paid_usd",
        "usage_flows",
        "usd_per_flow",
        "usage_usd",
        "already_refunded_usd",
        "refundable_usd",
        "fee_usd",
        "amount_usd",
        "status",
        "failure_message",
        "idempotency_key",
        "created_at",
        "settled_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("account"))
    def account_link(self, obj):
        url = reverse("admin:accounts_user_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description=_("payments refunded"))
    def payment_links(self, obj):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:billing_payment_change", args=[a.payment_id]), a.payment)
                for a in obj.allocations.select_related("payment")
            ),
        )

    @admin.action(description=_("Cancel selected processing refunds"))
    def cancel_refunds(self, request, queryset):
        canceled = 0
        for refund in queryset.filter(status=RefundStatus.PROCESSING):
            try:
                refund_cancel(refund_id=refund.pk, actor=request.user, reason=gettext("Canceled by staff"))
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                canceled += 1
        self.message_user(
            request, gettext("%(count)d refund(s) canceled.") % {"count": canceled}, messages.SUCCESS
        )
