from django.conf import settings

from apps.console.navigation import console_nav


def site(request):
    context = {"payment_sandbox": settings.PAYMENT_PROVIDER == "sandbox"}
    if request.path and getattr(request, "user", None) and request.user.is_authenticated:
        context["console_nav"] = console_nav(request.path)
    return context
