import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.wallet.models import GrantSource
from apps.wallet.services import STAFF_KINDS


class StaffGrantForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"), choices=[(k.value, k.label) for k in GrantSource if k in STAFF_KINDS]
    )
    amount = forms.DecimalField(
        label=_("Amount (USD)"),
        max_digits=18,
        decimal_places=6,
        help_text=_("Adjustments may be negative (a deduction); other types are positive."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=300)
    # Minted when the form is shown; the grant is idempotent on it (a resubmitted form grants once).
    operation_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, with_account: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_account:
            self.fields = {
                "account": forms.EmailField(label=_("Account e-mail")),
                **self.fields,
            }

    def clean_account(self):
        from django.contrib.auth import get_user_model

        email = self.cleaned_data["account"].strip().lower()
        account = get_user_model().objects.filter(email__iexact=email).first()
        if account is None:
            raise forms.ValidationError(_("No account with this e-mail."))
        return account
