from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import NotFoundError


class ApiKeyNotFound(NotFoundError):
    """The key does not exist, is deleted, or belongs to another account."""

    def __init__(self):
        super().__init__(_("API key not found."))


class ApiKeyRefused(Exception):
    """A presented secret was refused. `reason` is one of the REASONS, stable for callers to map."""

    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    DISABLED = "disabled"
    DELETED = "deleted"
    WRONG_KIND = "wrong_kind"
    # The key's account may not use keys (SPEC §7: account active and not suspended/banned).
    ACCOUNT_INACTIVE = "account_inactive"
    ACCOUNT_SUSPENDED = "suspended"
    ACCOUNT_BANNED = "banned"
    ACCOUNT_REASONS = frozenset({ACCOUNT_INACTIVE, ACCOUNT_SUSPENDED, ACCOUNT_BANNED})
    REASONS = frozenset({MALFORMED, UNKNOWN, DISABLED, DELETED, WRONG_KIND}) | ACCOUNT_REASONS

    def __init__(self, reason: str, key=None):
        if reason not in self.REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        # The key record when one was found (disabled/deleted/wrong_kind/account); never for malformed/unknown.
        self.key = key
