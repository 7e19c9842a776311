from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def plan_cta_url(context, plan) -> str:
    """Where a plan's button leads: checkout for a signed-in user, sign-up (then checkout) otherwise."""
    signed_in = context["request"].user.is_authenticated
    if plan.is_free:
        return reverse("console:subscription") if signed_in else reverse("account_signup")
    checkout = f"{reverse('console:subscribe')}?{urlencode({'plan': plan.tier})}"
    return checkout if signed_in else f"{reverse('account_signup')}?{urlencode({'next': checkout})}"
