"""Password validators whose messages our catalogue translates.

Django 5.2 changed MinimumLengthValidator's message to a new msgid ("…at least %d character.") that its own
zh_Hans catalogue does not have yet, so Chinese pages showed it in English. This subclass words it with the
msgid our catalogue carries (locale/zh_Hans), whatever Django's catalogue lags behind.
"""

from django.contrib.auth.password_validation import MinimumLengthValidator as DjangoMinimumLengthValidator
from django.utils.translation import ngettext


class MinimumLengthValidator(DjangoMinimumLengthValidator):
    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}


def validate_tax_id(value: str) -> None:
    """A tax ID as printed (EU VAT, GB VAT, US EIN, CN USCC, ABN…): letters, digits, spaces, - . / only,
    with at least one digit. Its length is bounded by the field (40)."""
    import re

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if value and not re.fullmatch(r"(?=.*\d)[A-Za-z0-9][A-Za-z0-9 .\-/]*", value):
        raise ValidationError(
            _("Enter the tax ID as printed: letters, digits, spaces, “-”, “.” and “/” only."),
            code="invalid_tax_id",
        )
