"""Console template tags: they render what the page's view put in the context."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.console.views import extra_usage
from apps.console.views.api_keys import section_context
from apps.management_api.selectors import management_key_example_prefix
from apps.refunds.models import RefundAllocation
from apps.refunds.selectors import refund_preview

register = template.Library()


@register.simple_tag(takes_context=True)
def plan_cta_url(context, plan) -> str:
    """Where a plan's button leads: checkout for a signed-in user, sign-up (then checkout) otherwise."""
    signed_in = context["request"].user.is_authenticated
    if plan.is_free:
        return reverse("console:subscription") if signed_in else reverse("account_signup")
    checkout = f"{reverse('console:subscribe')}?{urlencode({'plan': plan.tier})}"
    return checkout if signed_in else f"{reverse('account_signup')}?{urlencode({'next': checkout})}"


@register.inclusion_tag("console/api_keys/section.html", takes_context=True)
def api_key_section(context, kind: str):
    """The current user's keys of one kind with their actions: `{% api_key_section kind="payg" %}`."""
    request = context["request"]
    return section_context(request=request, kind=kind, next_url=request.get_full_path())


@register.inclusion_tag("console/management_api/help.html", takes_context=True)
def management_api_help(context):
    """The "Management API" help section of /console/management-keys/: a curl example and the docs link."""
    request = context["request"]
    # The docs are outside the language prefixes; `?lang=` makes drf-spectacular build them translated.
    language = translation.get_language() or settings.LANGUAGE_CODE
    query = "" if language == settings.LANGUAGE_CODE else f"?{urlencode({'lang': language})}"
    return {
        "key_prefix": management_key_example_prefix(account=request.user),
        "example_url": request.build_absolute_uri(reverse("management_subscription_detail")),
        "docs_url": reverse("api_docs") + query,
        "schema_url": reverse("api_schema") + query,
    }


@register.inclusion_tag("console/extra_usage/section.html", takes_context=True)
def extra_usage_section(context):
    """The current user's Extra Usage switch and selected key: `{% extra_usage_section %}`."""
    return extra_usage.section_context(request=context["request"], windows=context.get("quota_windows"))


_CACHE = "_refund_cell_data"


def _data(context) -> dict:
    request = context.get("request")
    cached = getattr(request, _CACHE, None)
    if cached is not None:
        return cached
    account = request.user
    refunds: dict = {}
    allocations = RefundAllocation.objects.filter(refund__account=account).select_related("refund")
    for allocation in allocations.order_by("-refund__created_at", "-refund_id"):
        refunds.setdefault(allocation.payment_id, []).append(allocation.refund)
    preview = refund_preview(account=account, subscription=context.get("subscription"))
    data = {"preview": preview, "refunds": refunds}
    setattr(request, _CACHE, data)
    return data


@register.inclusion_tag("console/refunds/_refund_cell.html", takes_context=True)
def refund_cell(context, payment):
    """The Refund cell of a billing history row (button, time left or why not, and the status of
    refunds made through that payment)."""
    data = _data(context)
    preview = data["preview"]
    is_cycle_payment = preview.payment is not None and preview.payment.pk == payment.pk
    return {
        "request": context.get("request"),
        "payment": payment,
        "preview": preview if is_cycle_payment else None,
        "refunds": data["refunds"].get(payment.pk, []),
    }
