from functools import cache

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from apps.abuse.selectors import account_notice
from apps.console.navigation import console_nav
from apps.notifications.selectors import notification_unread_count


def site(request):
    context = {"payment_sandbox": settings.PAYMENT_PROVIDER == "sandbox"}
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
