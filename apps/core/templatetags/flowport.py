from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from apps.core.money import round_cents

register = template.Library()


@register.filter
def usd(value) -> str:
    """$1,234.50 — cents, half-up; "—" for None."""
    if value is None or value == "":
        return "—"
    amount = round_cents(Decimal(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}${intcomma(f'{abs(amount):.2f}', use_l10n=False)}"


@register.filter
def flows(value) -> str:
    """A Flow count for people: two places at most, half-up, thousands separators (2,160 / 50.4 / 1.06).

    Flows are kept to 6 places internally and in the APIs (SPEC §1); pages round them for display.
    """
    if value is None or value == "":
        return "—"
    number = round_cents(Decimal(value)).normalize()
    text = f"{number:f}"
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    whole = intcomma(int(whole), use_l10n=False)
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


@register.filter
def count(value) -> str:
    """A whole count for people (tokens, requests): thousands separators in every language (454,145).

    Django's zh_Hans format has no thousands separator, so l10n would print 454145 on Chinese pages."""
    if value is None or value == "":
        return "—"
    return intcomma(int(value), use_l10n=False)
