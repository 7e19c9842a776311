from django import forms
from django.utils.translation import gettext_lazy as _

from apps.plans.models import Plan


class PlanChoiceForm(forms.Form):
    """Which plan to subscribe, upgrade or downgrade to (any plan shown on the pricing page)."""

    plan = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=Plan.objects.filter(is_public=True),
        to_field_name="tier",
        error_messages={"invalid_choice": _("Choose one of the plans offered.")},
    )
