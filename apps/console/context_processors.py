from django.conf import settings
from django.utils.functional import SimpleLazyObject

from apps.console.navigation import console_nav
from apps.notifications.selectors import notification_unread_count


def site(request):
    context = {"payment_sandbox": settings.PAYMENT_PROVIDER == "sandbox"}
    if request.path and getattr(request, "user", None) and request.user.is_authenticated:
        context["console_nav"] = console_nav(request.path)
        user = request.user
        # Counted only when a page shows the bell (console pages), once per request.
        context["notifications_unread"] = SimpleLazyObject(lambda: notification_unread_count(account=user))
    return context
