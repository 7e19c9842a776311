from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import ApplicationError
from apps.core.templatetags.flowport import usd
from apps.wallet.services import topup_amount_parse, topup_bonus
from apps.wallet.services.caps import CAP_MAX, CAP_MIN

TOPUP_PRESETS = (Decimal("10"), Decimal("20"), Decimal("50"), Decimal("100"), Decimal("500"))


def _money(value, *, message) -> Decimal:
    try:
        return topup_amount_parse(value)
    except ApplicationError as error:
        raise forms.ValidationError(message or error.message) from error


class TopUpForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "topup_%s")
        super().__init__(*args, **kwargs)

    amount = forms.CharField(
        label=_("Amount (USD)"),
        required=False,
        max_length=32,
        help_text=_("From $5 to $25,000. Every top-up earns a 20% bonus."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "100.00"}),
    )
    save_method = forms.BooleanField(label=_("Save this card for auto top-up"), required=False)
    # What the page showed as "you get" (static/js/topup.js): the server checks it against its own sum, so a
    # customer never pays for credits other than those on the screen.
    expected_credits = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        widget=forms.HiddenInput(attrs={"data-topup-expected": ""}),
    )

    def clean_amount(self):
        return _money(self.cleaned_data.get("amount"), message=None)

    def clean(self):
        cleaned = super().clean()
        amount, shown = cleaned.get("amount"), cleaned.get("expected_credits")
        if amount is not None and shown is not None and shown != topup_credits(amount):
            raise forms.ValidationError(
                _("You get %(credits)s for %(amount)s, not %(shown)s. Check the amount and continue again.")
                % {"credits": usd(topup_credits(amount)), "amount": usd(amount), "shown": usd(shown)}
            )
        return cleaned


def topup_credits(amount: Decimal) -> Decimal:
    """Credits a top-up of `amount` lands: the amount plus its bonus."""
    return amount + topup_bonus(amount)


def _threshold(value, *, minimum: Decimal) -> Decimal:
    text = str(value or "").strip().removeprefix("$").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as error:
        raise forms.ValidationError(_("Enter the amount as a number, for example 10 or 2.50.")) from error
    # The range first: quantizing a huge value (1e30) to cents would overflow Decimal's precision.
    if not amount.is_finite() or amount < minimum or amount > Decimal("25000"):
        raise forms.ValidationError(
            _("Enter an amount from %(min)s to $25,000.00.") % {"min": f"${minimum:.2f}"}
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise forms.ValidationError(_("Use whole cents: at most two decimal places."))
    return amount


class AutoTopUpForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "auto_topup_%s")
        super().__init__(*args, **kwargs)

    enabled = forms.BooleanField(label=_("Auto top-up"), required=False)
    threshold = forms.CharField(label=_("When the balance falls below (USD)"), max_length=32)
    amount = forms.CharField(label=_("Top up this amount (USD)"), max_length=32)

    def clean_threshold(self):
        return _threshold(self.cleaned_data.get("threshold"), minimum=Decimal("0.01"))

    def clean_amount(self):
        return _money(self.cleaned_data.get("amount"), message=None)


class LowBalanceAlertForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "alert_%s")
        super().__init__(*args, **kwargs)

    enabled = forms.BooleanField(label=_("E-mail me when my balance is low"), required=False)
    threshold = forms.CharField(label=_("Alert threshold (USD)"), max_length=32)

    def clean_threshold(self):
        return _threshold(self.cleaned_data.get("threshold"), minimum=Decimal("0.00"))


def _cap_field(label) -> forms.DecimalField:
    """An optional amount in whole cents within the caps' bounds (empty: no cap)."""
    return forms.DecimalField(
        label=label, required=False, min_value=CAP_MIN, max_value=CAP_MAX, decimal_places=2
    )


class SpendCapsForm(forms.Form):
    """Account spend caps for pay-as-you-go and the auto top-up monthly ceiling (issue #22); empty = none."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "caps_%s")
        super().__init__(*args, **kwargs)

    spend_cap_day = _cap_field(_("Daily spend cap (USD)"))
    spend_cap_week = _cap_field(_("Weekly spend cap (USD)"))
    spend_cap_month = _cap_field(_("Monthly spend cap (USD)"))
    auto_topup_monthly_max = _cap_field(_("Auto top-up ceiling per month (USD)"))
