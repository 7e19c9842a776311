from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.api_keys.models import ApiKey, LimitPeriod
from apps.api_keys.services import ALLOWED_MODELS_MAX, RPM_LIMIT_MAX, SPEND_LIMIT_MAX
from apps.plans.models import CatalogModel

NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length


class ApiKeyNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("A key needs a name.")},
    )


class ApiKeyLimitsForm(forms.Form):
    """A key's limits (issue #22); an empty field clears that limit. Bounds match api_key_set_limits."""

    spend_limit = forms.DecimalField(
        label=_("Spend limit"),
        required=False,
        min_value=Decimal("0.000001"),
        max_value=SPEND_LIMIT_MAX,
        max_digits=18,
        decimal_places=6,
    )
    spend_limit_period = forms.ChoiceField(
        label=_("Per"), required=False, choices=[("", "—"), *LimitPeriod.choices]
    )
    allowed_models = forms.MultipleChoiceField(
        label=_("Allowed models"),
        required=False,
        help_text=_("None selected: every model the key may otherwise call."),
        widget=forms.CheckboxSelectMultiple,
    )
    rpm_limit = forms.IntegerField(
        label=_("Requests per minute"), required=False, min_value=1, max_value=RPM_LIMIT_MAX
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The catalog's slugs are read once here, so rendering the form (in a key section) runs no query.
        slugs = CatalogModel.objects.order_by("slug").values_list("slug", flat=True)
        self.fields["allowed_models"].choices = [(slug, slug) for slug in slugs]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("spend_limit") is not None and not cleaned.get("spend_limit_period"):
            self.add_error("spend_limit_period", _("Choose the period the spend limit counts over."))
        if len(cleaned.get("allowed_models") or []) > ALLOWED_MODELS_MAX:
            self.add_error("allowed_models", _("At most %(max)d models.") % {"max": ALLOWED_MODELS_MAX})
        return cleaned
