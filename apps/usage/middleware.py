"""The gateway metering API without the browser middleware (SETTINGS: MIDDLEWARE, right after security).

`authorize`, `usage` and `release` are called by the inference gateway, for every inference request,
with a service token in a header: no cookies, no session, no CSRF, no allauth or HTMX state, no page to
frame. Going through the browser middleware anyway (sessions, locale, common, CSRF, auth, messages,
clickjacking, allauth, HTMX, console, CSP) cost about 0.25 ms of CPU per call, as much as the metering
itself spends in Python (measured in-process, README "Metering performance"). So these three URLs are
dispatched here, straight to their DRF views, which still do everything the API promises: the service
token check, the bounded JSON parser, the serializers' bounds, the SPEC §7 error bodies and the 503 on a
database error (`apps.core.api.exception_handler`); the language of messages follows Accept-Language
(`GatewayApi.dispatch`). What the skipped middleware would have added and an API client needs is added
here: `Content-Length` (CommonMiddleware), `Content-Language` and `Vary: Accept-Language` (locale).
SecurityMiddleware stays in front (HTTPS redirect, HSTS, nosniff). Every other URL, a gateway URL that
does not resolve included, takes the normal stack.
"""

from django.urls import Resolver404, resolve

GATEWAY_PREFIX = "/api/v1/gateway/"
SHORTCUT_URL_NAMES = frozenset({"gateway_authorize", "gateway_usage", "gateway_release"})


class GatewayShortcutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(GATEWAY_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.url_name not in SHORTCUT_URL_NAMES:
            return self.get_response(request)
        request.resolver_match = match
        lean = getattr(match.func.view_class, "lean", None)  # the views' lean lane (apis.GatewayApi)
        response = lean(request) if lean is not None else None
        if response is None:
            response = match.func(request, *match.args, **match.kwargs)
        response.render()  # a DRF Response (the handler renders template responses the same way)
        response.headers["Content-Length"] = str(len(response.content))
        return response
