"""Console template tags. They only render: the page's view builds their data with the page selectors
(`apps/console/selectors.py`) and passes it in; no tag queries the database."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def plan_cta_url(context, plan) -> str:
    """Where a plan's button leads: checkout for a signed-in user, sign-up (then checkout) otherwise."""
    signed_in = context["request"].user.is_authenticated
    if plan.is_free:
        return reverse("console:subscription") if signed_in else reverse("account_signup")
    checkout = f"{reverse('console:subscribe')}?{urlencode({'plan': plan.tier})}"
    return checkout if signed_in else f"{reverse('account_signup')}?{urlencode({'next': checkout})}"


@register.inclusion_tag("console/api_keys/section.html")
def api_key_section(section: dict) -> dict:
    """`{% api_key_section key_section %}`: the keys of one kind (from `selectors.api_key_section`)."""
    return section


@register.inclusion_tag("console/management_api/help.html")
def management_api_help(help_context: dict) -> dict:
    """`{% management_api_help management_api_help %}` (from `selectors.management_api_help`)."""
    return help_context


@register.inclusion_tag("console/extra_usage/section.html")
def extra_usage_section(section: dict) -> dict:
    """`{% extra_usage_section extra_usage %}`: the Extra Usage section (from `selectors.extra_usage_section`)."""
    return section


@register.inclusion_tag("console/refunds/_refund_cell.html", takes_context=True)
def refund_cell(context, cells: dict, payment):
    """`{% refund_cell refund_cells payment %}`: the Refund cell of one billing history row (button, time
    left or why not, and the status of refunds made through that payment), from `selectors.refund_cells`."""
    preview = cells["preview"]
    is_cycle_payment = preview.payment is not None and preview.payment.pk == payment.pk
    return {
        "request": context.get("request"),
        "payment": payment,
        "preview": preview if is_cycle_payment else None,
        "refunds": cells["refunds"].get(payment.pk, []),
    }


@register.simple_tag
def payment_status(payment) -> dict:
    """`{% payment_status payment as status %}`: a billing history row's status. A paid payment whose money
    went back reads Refunded (all of it) or Partially refunded, not Paid; otherwise the payment's status."""
    if payment.status == "succeeded" and payment.refunded_usd > 0:
        if payment.refunded_usd >= payment.amount_usd:
            return {"key": "refunded", "label": _("Refunded")}
        return {"key": "partially-refunded", "label": _("Partially refunded")}
    return {"key": payment.status, "label": payment.get_status_display()}
