"""Sensitive console actions ask the user to confirm who they are (allauth's re-authentication).

Creating or rotating a key, changing the payment method and deleting the account go through
`sensitive_action`: unless the user signed in or re-authenticated (password, TOTP/recovery code or
passkey) within `ACCOUNT_REAUTHENTICATION_TIMEOUT` seconds, allauth's `reauthentication_required`
suspends the request and sends the browser to re-authenticate; a plain POST is replayed once the user
has confirmed, an HTMX request gets `HX-Redirect` back to its page (apps/console/middleware.py).
A fresh sign-in counts as recent (as GitHub's sudo mode does), so nobody types a password twice in a row.
"""

import time

from allauth.account import app_settings as account_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records


def authenticated_recently(request) -> bool:
    """Did this session sign in or re-authenticate within the re-authentication timeout?"""
    records = get_authentication_records(request, request.user)
    latest = max((record.get("at", 0) for record in records), default=0)
    return time.time() - latest < account_settings.REAUTHENTICATION_TIMEOUT


def sensitive_action(view=None, *, allow_get: bool = False):
    """Require recent authentication for a POST (GET passes when `allow_get`: a confirmation page)."""

    def decorator(view_func):
        return reauthentication_required(
            view_func, allow_get=allow_get, enabled=lambda request: not authenticated_recently(request)
        )

    return decorator(view) if view else decorator
