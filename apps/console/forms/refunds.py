from django import forms
from django.utils.translation import gettext_lazy as _


class RefundConfirmForm(forms.Form):
    """The second confirmation before a refund is submitted."""

    confirm = forms.BooleanField(
        label=_("I understand my plan drops to Free as soon as the refund succeeds"),
        error_messages={"required": _("Confirm that your plan drops to Free to submit the refund.")},
    )
