from django import forms
from django.utils.translation import gettext_lazy as _

from apps.console.activity import CATEGORIES
from apps.console.forms.usage import UsageDateRangeForm


class ActivityFilterForm(UsageDateRangeForm):
    """Type of activity and a date range (UTC days, inclusive), from a GET query string."""

    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("All activity")), *CATEGORIES.items()],
        error_messages={"invalid_choice": _("Unknown type of activity.")},
    )
