from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.exceptions import ApplicationError
from apps.wallet.forms import StaffGrantForm
from apps.wallet.models import CreditGrant, LedgerEntry, Wallet
from apps.wallet.services import wallet_staff_grant


class CreditGrantInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditGrant
    fields = ["created_at", "bucket", "source_type", "original_amount", "remaining", "expires_at"]
    readonly_fields = fields
    extra = 0
    ordering = ["-created_at", "-id"]


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Balances are read-only: staff change them only through "Grant or adjust credits" (the service)."""

    list_display = ["account", "total", "top_up_balance", "bonus_balance", "arrears", "auto_topup_enabled"]
    list_select_related = ["account"]
    search_fields = ["account__email"]
    readonly_fields = [
        "account",
        "grant_link",
        "top_up_balance",
        "bonus_balance",
        "arrears",
        "auto_topup_enabled",
        "auto_topup_threshold",
        "auto_topup_amount",
        "auto_topup_pending",
        "low_balance_alert_enabled",
        "low_balance_alert_threshold",
        "low_balance_alert_sent",
    ]
    fields = readonly_fields
    inlines = [CreditGrantInline]

    @admin.display(description=gettext_lazy("total balance"))
    def total(self, obj):
        return obj.total_balance

    @admin.display(description=gettext_lazy("credits"))
    def grant_link(self, obj):
        url = reverse("admin:wallet_wallet_grant", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Grant or adjust credits"))

    def get_urls(self):
        return [
            path(
                "<int:wallet_id>/grant/",
                self.admin_site.admin_view(self.grant_view),
                name="wallet_wallet_grant",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request, obj=None):
        # "Add" opens the grant form for an account that has no wallet yet (never a raw wallet row).
        return request.user.has_perm("wallet.change_wallet")

    def add_view(self, request, form_url="", extra_context=None):
        return self.grant_view(request, wallet_id=None)

    def grant_view(self, request, wallet_id: int | None):
        if not request.user.has_perm("wallet.change_wallet"):
            raise PermissionDenied
        wallet = None
        if wallet_id is not None:
            wallet = get_object_or_404(Wallet.objects.select_related("account"), pk=wallet_id)
        form = StaffGrantForm(request.POST or None, with_account=wallet is None)
        if request.method == "POST" and form.is_valid():
            account = wallet.account if wallet else form.cleaned_data["account"]
            try:
                wallet_staff_grant(
                    account=account,
                    kind=form.cleaned_data["kind"],
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    operation_id=str(form.cleaned_data["operation_id"]),
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, _("Credits updated."), level=messages.SUCCESS)
                target = Wallet.objects.get(account=account)
                return HttpResponseRedirect(reverse("admin:wallet_wallet_change", args=[target.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": wallet,
            "title": _("Grant or adjust credits"),
            "form": form,
        }
        return TemplateResponse(
            request, "admin/wallet/grant.html", context, status=400 if form.errors else 200
        )


@admin.register(CreditGrant)
class CreditGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "wallet",
        "bucket",
        "source_type",
        "original_amount",
        "remaining",
        "expires_at",
    ]
    list_filter = ["bucket", "source_type"]
    search_fields = ["wallet__account__email"]
    list_select_related = ["wallet__account"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "wallet", "entry_type", "amount", "bucket", "description", "payment"]
    list_filter = ["entry_type", "bucket"]
    search_fields = ["wallet__account__email", "idempotency_key", "description"]
    list_select_related = ["wallet__account", "payment"]
    date_hierarchy = "created_at"
