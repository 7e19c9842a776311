"""Console middleware."""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
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


TOAST_EVENT = "flowport:toast"


class HtmxToastMiddleware:
    """Messages of an HTMX action go back with its answer as a toast, shown next to the control that acted.

    A view reports an outcome with `django.contrib.messages` as on a plain page. For an HTMX request the
    messages are taken out of the message store and sent in the `HX-Trigger` header as
    `{"flowport:toast": {"messages": [{"level": "success", "text": "…"}]}}`; `static/js/toast.js` shows
    them where the action was (a plain request keeps showing them at the top of the next page).
    (SETTINGS: MIDDLEWARE, after MessageMiddleware and HtmxMiddleware.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or not 200 <= response.status_code < 300
            or "HX-Redirect" in response
            or "HX-Location" in response
        ):
            return response
        toasts = [
            {"level": message.level_tag, "text": str(message)} for message in messages.get_messages(request)
        ]
        if not toasts:
            return response
        events = {}
        if response.get("HX-Trigger"):
            try:
                events = json.loads(response["HX-Trigger"])
            except ValueError:  # a plain event name (or a comma-separated list of them)
                events = {name.strip(): None for name in response["HX-Trigger"].split(",")}
        events[TOAST_EVENT] = {"messages": toasts}
        response["HX-Trigger"] = json.dumps(events)
        return response
