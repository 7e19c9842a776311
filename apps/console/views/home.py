from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import translate_url
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.services import account_set_language
from apps.console.selectors import console_overview
from apps.plans.selectors import effective_usd_per_flow


@login_required
def console_home(request):
    subscription = getattr(request.user, "subscription", None)
    context = {"subscription": subscription, "effective_rate": effective_usd_per_flow(account=request.user)}
    context |= console_overview(account=request.user, now=timezone.now())
    return render(request, "console/home.html", context)


@require_POST
def language_switch(request):
    """Switch language: remember it (cookie, and the account's preference) and go to the same page in it."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if not translation.check_for_language(language):
        return HttpResponseRedirect(next_url)
    # Resolve `next` in its own language (from its prefix), then reverse it in the new one.
    with translation.override(translation.get_language_from_path(next_url) or settings.LANGUAGE_CODE):
        target = translate_url(next_url, language)
    response = HttpResponseRedirect(target)
    response.set_cookie("django_language", language, max_age=365 * 24 * 3600, samesite="Lax")
    if request.user.is_authenticated:
        account_set_language(account=request.user, language=language)
    return response
