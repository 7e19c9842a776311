from datetime import datetime

from apps.core.exceptions import ApplicationError


class SpendCapReached(ApplicationError):
    """The account's pay-as-you-go spend cap for a period is reached (issue #22): 402 spend_cap_reached."""

    status = 402
    type = "spend_cap_reached"

    def __init__(self, message, *, period: str, resets_at: datetime | None):
        super().__init__(message, code=self.type)
        self.period = period
        self.resets_at = resets_at

    def api_fields(self) -> dict:
        return {
            "period": self.period,
            "resets_at": self.resets_at.isoformat().replace("+00:00", "Z") if self.resets_at else None,
        }
