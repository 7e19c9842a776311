"""The API envelope and error format shared by the gateway and management APIs (SPEC §7).

Success: `{"success": true, "data": {...}}`.
Error: `{"success": false, "error": {"code": "<http status>", "type": "<type>", "message": "<text>"}}`,
plus extra fields some errors carry (`resets_at` for `quota_exceeded`).
"""

import logging
import math

from django.db import DatabaseError, IntegrityError, connections
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import ApplicationError


def api_success(data: dict, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"success": True, "data": data}, status=status_code)


def api_error_response(
    status_code: int, type: str, message, *, headers: dict | None = None, extra: dict | None = None
) -> Response:
    error = {"code": str(status_code), "type": type, "message": str(message), **(extra or {})}
    return Response({"success": False, "error": error}, status=status_code, headers=headers)


def request_language(request) -> str:
    """API URLs have no language prefix: their messages follow the Accept-Language header instead."""
    return translation.get_language_from_request(request, check_path=False)


def _first_validation_error(detail, path: str = "") -> tuple[str, str]:
    """(field path, message) of the first error in a DRF ValidationError detail tree."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = "" if field == "non_field_errors" else str(field)
            return _first_validation_error(value, f"{path}.{name}" if path and name else (name or path))
    if isinstance(detail, list) and detail:
        for index, value in enumerate(detail):
            if value:
                if isinstance(value, dict | list):
                    return _first_validation_error(value, f"{path}[{index}]" if path else str(index))
                return path, str(value)
    return path, str(detail)


def validation_message(detail) -> str:
    field, message = _first_validation_error(detail)
    if not field:
        return gettext("Invalid request body: %(error)s") % {"error": message}
    return gettext("Invalid parameter %(field)s: %(error)s") % {"field": field, "error": message}


def _retry_after(wait) -> str:
    return str(max(1, math.ceil(wait or 1)))


DATABASE_RETRY_AFTER_SECONDS = 1

logger = logging.getLogger(__name__)


def exception_handler(exc, context) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every API error leaves in the SPEC §7 format.

    The one place errors become HTTP: an ApplicationError (raised by a service, or by an API view for
    an interface-level refusal) answers with its class's `status` and `type`; DRF's own exceptions
    (validation, authentication, permissions, throttling, routing) are mapped below.
    """
    if isinstance(exc, ApplicationError):
        return api_error_response(
            exc.status, exc.type, exc.message, headers=exc.api_headers() or None, extra=exc.api_fields()
        )
    if isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError):
        # The database went away mid-request (restart, failover, network): the transaction was rolled
        # back, so nothing of this call happened. Answer in the API's format and let the caller retry;
        # The broken connection is dropped here (Django would also drop it when the request ends), so
        # the next request opens a fresh one: the server recovers without a restart.
        logger.warning("API request failed on a database error: %s", exc)
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
        return api_error_response(
            503,
            "service_unavailable",
            gettext("The service is temporarily unavailable. Retry the request."),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, exceptions.ValidationError):
        return api_error_response(400, "invalid_params", validation_message(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return api_error_response(
            400, "invalid_params", gettext("Malformed request body: %(error)s") % {"error": exc.detail}
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return api_error_response(
            400, "invalid_params", gettext("The request body must be JSON (Content-Type: application/json).")
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            return api_error_response(403, "access_denied", exc.detail)
        headers = {"WWW-Authenticate": exc.auth_header} if getattr(exc, "auth_header", None) else None
        return api_error_response(401, "unauthorized", exc.detail, headers=headers)
    if isinstance(exc, exceptions.PermissionDenied):
        return api_error_response(403, "access_denied", exc.detail)
    if isinstance(exc, exceptions.Throttled):
        return api_error_response(
            429,
            "rate_limit",
            gettext("Too many requests. Try again in a moment."),
            headers={"Retry-After": _retry_after(exc.wait)},
        )
    if isinstance(exc, exceptions.NotFound | Http404):
        return api_error_response(404, "not_found", gettext("Not found."))
    if isinstance(exc, exceptions.MethodNotAllowed):
        request = context.get("request")
        method = request.method if request is not None else ""
        return api_error_response(
            405, "method_not_allowed", gettext("Method %(method)s is not allowed here.") % {"method": method}
        )
    if isinstance(exc, exceptions.APIException):
        return api_error_response(exc.status_code, "error", exc.detail)
    return None


class ApiNotFound(APIView):
    """Any unknown URL under /api/ answers in the API's JSON format, not the HTML 404 page."""

    authentication_classes: list = []
    permission_classes: list = []
    schema = None

    def _not_found(self, request, *args, **kwargs):
        raise exceptions.NotFound()

    get = post = put = patch = delete = head = options = _not_found
