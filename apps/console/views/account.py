"""Account settings: e-mail addresses, password, language, two-factor sign-in, sessions (allauth's pages
do the changes), and account deletion."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import InvoiceDetails
from apps.accounts.services import account_delete, account_set_language, invoice_details_update
from apps.console.decorators import sensitive_action
from apps.console.forms.account import AccountDeleteForm, InvoiceDetailsForm, LanguageForm
from apps.console.selectors import account_deletion_facts, account_settings_context
from apps.core.exceptions import ApplicationError


def _invoice_details(account) -> InvoiceDetails:
    return InvoiceDetails.objects.filter(account=account).first() or InvoiceDetails(account=account)


def _settings_page(request, *, invoice_form=None, status=200):
    context = account_settings_context(account=request.user)
    context["language_form"] = LanguageForm(initial={"language": request.user.preferred_language})
    context["invoice_form"] = invoice_form or InvoiceDetailsForm(instance=_invoice_details(request.user))
    return render(request, "console/account/settings.html", context, status=status)


@login_required
def account_settings(request):
    return _settings_page(request)


@login_required
@require_POST
def account_invoice_details(request):
    form = InvoiceDetailsForm(request.POST, instance=_invoice_details(request.user))
    if not form.is_valid():
        return _settings_page(request, invoice_form=form, status=400)
    invoice_details_update(account=request.user, **{name: form.cleaned_data[name] for name in form.fields})
    messages.success(request, _("Invoice details saved. New receipts and invoices will carry them."))
    return redirect(reverse("console:account") + "#account-invoice")


@login_required
@require_POST
def account_language(request):
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the offered languages."))
        return redirect("console:account")
    language = form.cleaned_data["language"]
    account_set_language(account=request.user, language=language)
    with translation.override(language):
        messages.success(request, _("Language saved."))
        return redirect(reverse("console:account"))


@login_required
@sensitive_action(allow_get=True)  # the page that explains what happens is a GET
def account_delete_view(request):
    form = AccountDeleteForm(request.POST or None, account=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account_delete(account=request.user)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            logout(request)
            messages.success(request, _("Your account has been deleted."))
            return redirect("pricing")
    context = account_deletion_facts(account=request.user)
    context["form"] = form
    return render(request, "console/account/delete.html", context, status=400 if form.errors else 200)
