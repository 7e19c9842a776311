"""Staff need two-factor sign-in before they can use the admin (FLOWPORT_ADMIN_REQUIRE_MFA)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

# What counts as two-factor: an authenticator app or a passkey (recovery codes back those up).
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


class StaffMfaRequiredMiddleware:
    """A signed-in staff member without two-factor sign-in who opens any admin page is sent to set it
    up, with a message saying why. (SETTINGS: MIDDLEWARE, after the auth and messages middleware.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.FLOWPORT_ADMIN_REQUIRE_MFA
            and request.path.startswith(reverse("admin:index"))
            and request.user.is_authenticated
            and request.user.is_staff
            and not is_mfa_enabled(request.user, types=SECOND_FACTORS)
        ):
            messages.warning(
                request,
                _(
                    "Staff need two-factor sign-in to use the admin. Set up an authenticator app or a passkey, "
                    "then open the admin again."
                ),
            )
            return redirect("mfa_index")
        return self.get_response(request)
