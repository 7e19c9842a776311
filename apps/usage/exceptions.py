"""Why the metering engine refuses a gateway call: one ApplicationError subclass per SPEC §7 type.

`code` equals `type` (callers and tests match on it); the API status lives on the class, so the
metering services never name an HTTP status.
"""

from datetime import datetime

from apps.core.exceptions import ApplicationError, RateLimitedError


class MeteringRefused(ApplicationError):
    """The metering engine refused a gateway call (base class: catch this for any refusal)."""

    def __init__(self, message):
        super().__init__(message, code=self.type)


class InvalidParams(MeteringRefused):
    status = 400
    type = "invalid_params"


class AccessDenied(MeteringRefused):
    status = 403
    type = "access_denied"


class NotAuthorized(MeteringRefused):
    status = 409
    type = "not_authorized"


class RequestConflict(MeteringRefused):
    """A known request_id came with another key, account or model: only an identical call is a replay."""

    status = 409
    type = "request_conflict"


class InvalidModel(MeteringRefused):
    status = 404
    type = "invalid_model"


class ModelNotAvailable(MeteringRefused):
    status = 404
    type = "model_not_available"


class InsufficientCredit(MeteringRefused):
    status = 402
    type = "insufficient_credit"


class QuotaExceeded(MeteringRefused):
    status = 402
    type = "quota_exceeded"

    def __init__(self, message, *, resets_at: datetime | None = None):
        super().__init__(message)
        self.resets_at = resets_at

    def api_fields(self) -> dict:
        return {"resets_at": self.resets_at.isoformat().replace("+00:00", "Z") if self.resets_at else None}


class RateLimited(MeteringRefused, RateLimitedError):
    status = 429
    type = "rate_limit"

    def __init__(self, message, *, retry_after: int | None = None):
        MeteringRefused.__init__(self, message)
        self.retry_after = retry_after


class KeyLimitExceeded(MeteringRefused):
    """The key's own spend limit has no room left in its current period (issue #22)."""

    status = 402
    type = "key_limit_exceeded"

    def __init__(self, message, *, limit: str, period: str, resets_at: datetime | None):
        super().__init__(message)
        self.limit = limit
        self.period = period
        self.resets_at = resets_at

    def api_fields(self) -> dict:
        return {
            "limit": self.limit,
            "period": self.period,
            "resets_at": self.resets_at.isoformat().replace("+00:00", "Z") if self.resets_at else None,
        }


class ModelNotAllowed(MeteringRefused):
    """The model is outside the key's model allow-list (issue #22)."""

    status = 404
    type = "model_not_allowed"
