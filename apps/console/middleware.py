"""Console middleware."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

# allauth's pages that confirm who the user is before a sensitive action (apps/console/decorators.py).
REAUTHENTICATION_URL_NAMES = ("account_reauthenticate", "mfa_reauthenticate", "mfa_reauthenticate_webauthn")


def _reauthentication_paths() -> set[str]:
    paths = set()
    for name in REAUTHENTICATION_URL_NAMES:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            continue
    return paths


class HtmxLoginRedirectMiddleware:
    """An HTMX request that has to (re-)authenticate first is sent to that page as a whole page.

    `login_required` answers a 302 to the log-in page, and a sensitive action without recent
    authentication a 302 to allauth's re-authentication page; HTMX would follow it and paste that page
    into the section it was updating. Instead the browser gets `HX-Redirect` to the page with `next` set
    to the page the user is on (HX-Current-URL), not the fragment URL the request asked for.
    (SETTINGS: MIDDLEWARE, after AuthenticationMiddleware and HtmxMiddleware.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 302:
            return response
        target = urlsplit(response["Location"]).path
        next_url = request.htmx.current_url_abs_path or request.get_full_path()
        if not request.user.is_authenticated:
            if target != urlsplit(resolve_url(settings.LOGIN_URL)).path:
                return response
            return HttpResponseClientRedirect(redirect_to_login(next_url)["Location"])
        if target in _reauthentication_paths():
            return HttpResponseClientRedirect(redirect_to_login(next_url, login_url=target)["Location"])
        return response
