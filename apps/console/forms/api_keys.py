from django import forms
from django.utils.translation import gettext_lazy as _

from apps.api_keys.models import ApiKey

NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length


class ApiKeyNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("A key needs a name.")},
    )
