"""Hooks: how an effect flows up the layers without a lower app importing an upper one.

A lower app declares a `Hook` in its `hooks.py` and calls it where the effect happens; an upper app
registers its handler in `AppConfig.ready()`. Handlers run synchronously, in the order registered,
inside the caller's transaction: an exception from a handler propagates and rolls the caller back,
so the cause and its effect can never disagree. (The payment-handler registry in
`apps/billing/services.py` is the same idea, keyed by payment purpose.)
"""

from collections.abc import Callable
from typing import Any


class Hook:
    """A named extension point with zero or more handlers, each called with keyword arguments only."""

    def __init__(self, name: str, *, doc: str = ""):
        self.name = name
        self.__doc__ = doc or f"Hook {name}."
        self._handlers: list[Callable[..., Any]] = []

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._handlers)} handler(s)>"

    def register(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Connect a handler (idempotent: registering the same function twice keeps one)."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def unregister(self, handler: Callable[..., Any]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    @property
    def handlers(self) -> tuple[Callable[..., Any], ...]:
        return tuple(self._handlers)

    def send(self, **kwargs) -> list[Any]:
        """Call every handler with these keyword arguments; returns their results in order."""
        return [handler(**kwargs) for handler in self._handlers]

    def send_one(self, **kwargs) -> Any:
        """For a hook exactly one app answers (e.g. a lookup): call it and return its result."""
        if len(self._handlers) != 1:
            raise RuntimeError(f"hook {self.name} needs exactly one handler, has {len(self._handlers)}")
        return self._handlers[0](**kwargs)


# send(event=<AuditEvent>) inside the transaction of the change it records, right after the row is
# written (notifications: the state changes a customer is told about become notifications).
audit_recorded = Hook("core.audit_recorded")
