class ApplicationError(Exception):
    """A business rule refused an action. `message` is user-facing (translated); `code` is stable."""

    def __init__(self, message, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
