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
    REASONS = frozenset({MALFORMED, UNKNOWN, DISABLED, DELETED, WRONG_KIND})

    def __init__(self, reason: str, key=None):
        if reason not in self.REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        # The key record when one was found (disabled/deleted/wrong_kind); never for malformed/unknown.
        self.key = key
