from functools import cache
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from apps.abuse.selectors import account_notice
from apps.console.navigation import console_nav
from apps.notifications.selectors import notification_unread_count
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
        context["account_notice"] = _account_notice(request)
        user = request.user
        # Counted only when a page shows the bell (console pages), once per request.
        context["notifications_unread"] = SimpleLazyObject(lambda: notification_unread_count(account=user))
    return context


def _account_notice(request):
    """The restricted/insider banner (templates/console/partials/account_notice.html), queried only when
    a page renders it (templates call it)."""

    @cache
    def notice():
        match = getattr(request, "resolver_match", None)
        on_subscription = bool(match) and match.view_name == "console:subscription"
        return account_notice(account=request.user, with_insider_rate=on_subscription)

    return notice
