from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import INVOICE_FIELDS, InvoiceDetails


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


class AccountDeleteForm(forms.Form):
    """The owner types their e-mail address to confirm (bounded; compared case-insensitively)."""

    email = forms.CharField(label=_("Type your e-mail address to confirm"), max_length=254, strip=True)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email.lower() != self.account.email.lower():
            raise forms.ValidationError(_("This is not your account's e-mail address."))
        return email


class InvoiceDetailsForm(forms.ModelForm):
    """Every field optional; lengths from the model, tax ID validated there, country from the ISO list."""

    class Meta:
        model = InvoiceDetails
        fields = list(INVOICE_FIELDS)
