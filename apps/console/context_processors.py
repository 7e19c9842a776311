from urllib.parse import parse_qs, urlsplit

from django.conf import settings

from apps.console.navigation import console_nav
from apps.plans.selectors import plans_public


def _signup_plan(request):
    """The paid plan a visitor chose on the pricing page before signing up (the plan in `next`), or None."""
    tiers = parse_qs(urlsplit(request.GET.get("next", "")[:500]).query).get("plan", [])
    if not tiers:
        return None
    return next((plan for plan in plans_public() if plan.tier == tiers[0] and not plan.is_free), None)


def site(request):
    context = {
        "payment_sandbox": settings.PAYMENT_PROVIDER == "sandbox",
        # Called only by a template that shows it (the sign-up page): no query on other pages.
        "signup_plan": lambda: _signup_plan(request),
    }
    if request.path and getattr(request, "user", None) and request.user.is_authenticated:
        context["console_nav"] = console_nav(request.path)
    return context
