"""The internal gateway schema documents the three gateway operations only.

Their URL patterns take an optional trailing slash (`^authorize/?$`), which drf-spectacular renders as
`authorize/`; the schema names the canonical form without it.
"""

PREFIX = "/api/v1/gateway/"
OPERATIONS = frozenset({"authorize", "usage", "release"})


def gateway_endpoints_only(endpoints, **kwargs):
    """drf-spectacular PREPROCESSING_HOOKS entry for GatewaySchemaApi."""
    return [
        (path.rstrip("/"), path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith(PREFIX) and path.removeprefix(PREFIX).rstrip("/") in OPERATIONS
    ]
