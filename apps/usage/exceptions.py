from datetime import datetime

from apps.core.exceptions import ApplicationError


class MeteringRefused(ApplicationError):
    """The metering engine refused a gateway call. `code` is the SPEC §7 error type, `status` its HTTP status."""

    def __init__(
        self,
        message,
        *,
        status: int,
        code: str,
        retry_after: int | None = None,
        resets_at: datetime | None = None,
    ):
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after
        self.resets_at = resets_at
