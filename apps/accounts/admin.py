from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.services import account_create, account_set_status
from apps.core.admin import AuditEventInline
from apps.core.exceptions import ApplicationError


class AccountChangeForm(UserChangeForm):
    status_reason = forms.CharField(
        label=_("Reason for the status change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the status changes; kept in the audit trail."),
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if "status" in self.changed_data and not (cleaned.get("status_reason") or "").strip():
            self.add_error("status_reason", _("A reason is required to change an account's status."))
        return cleaned


# The account's records in the apps above this one, as admin changelists filtered by the account. By URL name
# only: the accounts app imports none of them (layers), and a section that is not installed is left out.
ACCOUNT_RECORDS = [
    ("admin:plans_subscription_changelist", _("Subscription")),
    ("admin:wallet_wallet_changelist", _("Wallet")),
    ("admin:api_keys_apikey_changelist", _("API keys")),
    ("admin:refunds_refund_changelist", _("Refunds")),
]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AccountChangeForm
    ordering = ["email"]
    list_display = ["email", "status", "is_insider", "flow_value_multiplier", "is_staff", "date_joined"]
    list_filter = ["status", "is_insider", "is_staff", "is_active"]
    search_fields = ["email", "name"]
    # Insider status is granted and revoked in "Abuse review" (paid plan, multiplier above 1, audit trail).
    readonly_fields = ["last_login", "date_joined", "is_insider", "records"]
    inlines = [AuditEventInline]
    fieldsets = (
        (None, {"fields": ("email", "password", "name", "preferred_language", "records")}),
        (_("Account status"), {"fields": ("status", "status_reason", "flow_value_multiplier", "is_insider")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description=_("Records"))
    def records(self, obj):
        links = []
        for name, label in ACCOUNT_RECORDS:
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            links.append(
                (f"{url}?account__id__exact={obj.pk}", name.split(":")[1].removesuffix("_changelist"), label)
            )
        return format_html(
            '<span class="account-records">{}</span>',
            format_html_join(" · ", '<a href="{}" data-record="{}">{}</a>', links),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            account_create(email=obj.email, account=obj)  # the add form has hashed the password into obj
            return
        if change and "status" in form.changed_data:
            new_status = obj.status
            obj.status = form.initial["status"]  # the service makes the change and writes the audit event
            super().save_model(request, obj, form, change)
            try:
                account_set_status(
                    account=obj,
                    status=new_status,
                    reason=form.cleaned_data["status_reason"],
                    actor=request.user,
                )
            except ApplicationError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            return
        super().save_model(request, obj, form, change)
