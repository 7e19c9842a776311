"""Per-endpoint, per-key request limit of the management API (SPEC §11): N requests per minute.

A fixed 60-second window per (key, endpoint, minute) counted in the Django cache: `cache.add` creates
the counter and `cache.incr` bumps it, both atomic on Redis, so concurrent requests never exceed the
limit. Each endpoint (the view's `throttle_scope`) has its own counter. The view turns a refusal into
422 `rate_limit` with `Retry-After` (what the reference product answers).
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


def minute_counter_key(*, key_id: int, scope: str, minute: int) -> str:
    return f"mgmt:rate:{key_id}:{scope}:{minute}"


class ManagementRateThrottle(BaseThrottle):
    # The clock (seconds since the epoch). A static method so tests can pass their own clock in.
    clock = staticmethod(time.time)

    def __init__(self):
        self.retry_after: float | None = None

    @staticmethod
    def rate() -> int:
        return int(getattr(settings, "FLOWPORT_MANAGEMENT_RATE_PER_MINUTE", 60))

    def allow_request(self, request, view) -> bool:
        key = request.auth  # the ApiKey; authentication ran first and refuses every other case
        now = self.clock()
        minute = int(now // WINDOW_SECONDS)
        counter = minute_counter_key(key_id=key.pk, scope=view.throttle_scope, minute=minute)
        # Keep the counter a little past its minute so a slow request still lands on it.
        cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(counter)
        except ValueError:  # evicted between add and incr: start it again
            cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
            count = cache.incr(counter)
        if count <= self.rate():
            return True
        self.retry_after = (minute + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float | None:
        return self.retry_after
