from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import AccountStatus


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required; kept in the audit trail."),
    )


class StatusForm(ReasonForm):
    status = forms.ChoiceField(label=_("New status"), choices=AccountStatus.choices)


class InsiderGrantForm(ReasonForm):
    multiplier = forms.DecimalField(
        label=_("Flow value multiplier"),
        max_digits=8,
        decimal_places=4,
        min_value=Decimal("1.0001"),
        max_value=Decimal("9999"),
        required=False,
        help_text=_("Above 1. Empty: the default (%(default)s).")
        % {"default": settings.FLOWPORT_INSIDER_FLOW_MULTIPLIER},
    )
