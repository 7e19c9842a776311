"""Console middleware."""

from urllib.parse import urlsplit

from django.conf import settings
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
