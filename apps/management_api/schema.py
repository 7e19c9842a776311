"""OpenAPI schema settings: the published schema documents the management API only.

The gateway metering API is internal (the platform's inference gateway, SPEC §7), so it stays out of the
customer-facing docs; so do the trailing-slash aliases and the JSON 404 catch-all under /api/.
"""

PREFIX = "/api/v1/management/"


def management_endpoints_only(endpoints, **kwargs):
    """drf-spectacular PREPROCESSING_HOOKS entry."""
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith(PREFIX) and not path.endswith("/")
    ]
