"""Domain errors. Services raise these and never mention HTTP.

Each class carries how the APIs answer it (SPEC §7): `status` and `type`. The one DRF exception
handler (`apps.core.api.exception_handler`) renders any ApplicationError from those; console views
show `message` as a form error. A service that refuses for a reason an API must tell apart raises the
subclass for it (e.g. `apps.usage.exceptions.QuotaExceeded`).
"""


class ApplicationError(Exception):
    """A business rule refused an action. `message` is user-facing (translated); `code` is stable."""

    status: int = 400
    type: str = "invalid_params"

    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code

    def api_headers(self) -> dict[str, str]:
        """Headers the API answer carries (e.g. Retry-After)."""
        return {}

    def api_fields(self) -> dict:
        """Fields the API error body carries besides code, type and message (e.g. resets_at)."""
        return {}


class NotFoundError(ApplicationError):
    status = 404
    type = "not_found"

    def __init__(self, message, *, code: str = "not_found"):
        super().__init__(message, code=code)


class RateLimitedError(ApplicationError):
    """Too many requests; `retry_after` (whole seconds, ≥ 1) becomes the Retry-After header."""

    status = 429
    type = "rate_limit"

    def __init__(self, message, *, retry_after: int | None = None, code: str = "rate_limit"):
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def api_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}
