from django import forms
from django.utils.translation import gettext_lazy as _


class SandboxCardForm(forms.Form):
    card_number = forms.CharField(
        label=_("Card number"),
        initial="4242 4242 4242 4242",
        max_length=23,
        help_text=_("Sandbox: 4000 0000 0000 0002 is declined; any other valid-looking number succeeds."),
    )

    def clean_card_number(self):
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch.isdigit())
        if not 12 <= len(digits) <= 19:
            raise forms.ValidationError(_("Enter a card number of 12 to 19 digits."))
        return digits
