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
