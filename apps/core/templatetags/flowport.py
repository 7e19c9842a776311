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
    """A Flow count for people: thousands separators, no trailing zeros (2,160 / 50.4)."""
    if value is None or value == "":
        return "—"
    number = Decimal(value).normalize()
    text = f"{number:f}"
    whole, _, frac = text.partition(".")
    whole = intcomma(int(whole), use_l10n=False) if whole not in ("-0",) else "0"
    return f"{whole}.{frac}" if frac else whole
