"""Console middleware."""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """An HTMX request whose session expired is sent to the log-in page as a whole page.

    `login_required` answers a 302 to the log-in page; HTMX would follow it and paste that page into the
    section it was updating. Instead the browser gets `HX-Redirect` to the log-in page with `next` set to
    the page the user is on (HX-Current-URL), not the fragment URL the request asked for.
    (SETTINGS: MIDDLEWARE, after AuthenticationMiddleware and HtmxMiddleware.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or response.status_code != 302
            or request.user.is_authenticated
        ):
            return response
        login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path
        if urlsplit(response["Location"]).path != login_path:
            return response
        next_url = request.htmx.current_url_abs_path or request.get_full_path()
        return HttpResponseClientRedirect(redirect_to_login(next_url)["Location"])


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
