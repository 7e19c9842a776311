"""Requests per minute per account (SPEC §5): a sliding 60-second window.

Redis when settings.REDIS_URL is set (one sorted set per account, trimmed, counted and added to by
one Lua script, so concurrent web workers share one exact count); process memory otherwise.

Redis down: RPM fails OPEN. The request is admitted without an RPM check (rpm_remaining null), a
warning is logged ("rpm fail-open") and `rpm_fail_open_total()` counts it, so the gateway keeps
answering while quotas, wallet room and billing (all in PostgreSQL) stay exact. RPM is a fairness
limit, not money: refusing all inference while Redis restarts would hurt every customer to protect
against a burst from one.
"""

import logging
import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from apps.accounts.models import AccountStatus

logger = logging.getLogger(__name__)
WINDOW_MS = 60_000
KEY_PREFIX = "flowport:rpm:"

# KEYS[1] = the account's set; ARGV = now (ms), window (ms), limit, member.
# Returns {admitted 1|0, remaining after this request, milliseconds until the oldest entry leaves}.
_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


@dataclass(frozen=True)
class RpmResult:
    admitted: bool
    remaining: int | None  # None: admitted without a check (Redis down, see the module docstring)
    retry_after: int  # whole seconds, at least 1 when refused
    member: str = ""


def rpm_limit(*, account, plan) -> int:
    """The plan's RPM; halved (rounded down, at least 1) for an abusive account."""
    limit = plan.rpm
    if account.status == AccountStatus.ABUSIVE:
        limit = max(1, limit // 2)
    return limit


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


_fail_open = {"total": 0}
_fail_open_lock = threading.Lock()


def rpm_fail_open_total() -> int:
    """How many requests this process admitted without an RPM check because Redis was down (metric)."""
    return _fail_open["total"]


class _RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.errors = (redis.RedisError, OSError)
        # Short timeouts: a Redis that hangs must not hold gateway requests for long.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.script = self.client.register_script(_LUA)

    def acquire(self, account_id: int, limit: int, now_ms: int, member: str) -> RpmResult:
        try:
            admitted, remaining, wait = self.script(
                keys=[f"{KEY_PREFIX}{account_id}"], args=[now_ms, WINDOW_MS, limit, member]
            )
        except self.errors as error:
            with _fail_open_lock:
                _fail_open["total"] += 1
                total = _fail_open["total"]
            logger.warning(
                "rpm fail-open: Redis unavailable, account %s admitted without an RPM check "
                "(rpm_fail_open_total=%d): %s",
                account_id,
                total,
                error,
            )
            return RpmResult(True, None, 0)
        if admitted:
            return RpmResult(True, int(remaining), 0, member)
        return RpmResult(False, 0, _seconds(int(wait)))

    def undo(self, account_id: int, member: str) -> None:
        try:
            self.client.zrem(f"{KEY_PREFIX}{account_id}", member)
        except self.errors:
            logger.warning("rpm undo skipped: Redis unavailable")


class _MemoryLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[int, deque] = {}

    def acquire(self, account_id: int, limit: int, now_ms: int, member: str) -> RpmResult:
        with self.lock:
            entries = self.entries.setdefault(account_id, deque())
            while entries and entries[0][0] <= now_ms - WINDOW_MS:
                entries.popleft()
            if len(entries) < limit:
                entries.append((now_ms, member))
                return RpmResult(True, limit - len(entries), 0, member)
            return RpmResult(False, 0, _seconds(entries[0][0] + WINDOW_MS - now_ms))

    def undo(self, account_id: int, member: str) -> None:
        with self.lock:
            entries = self.entries.get(account_id)
            if entries:
                self.entries[account_id] = deque(e for e in entries if e[1] != member)


_limiters: dict[str, object] = {}
_limiters_lock = threading.Lock()


def _limiter():
    url = settings.REDIS_URL or ""
    limiter = _limiters.get(url)
    if limiter is None:
        with _limiters_lock:
            limiter = _limiters.get(url)
            if limiter is None:
                limiter = _RedisLimiter(url) if url else _MemoryLimiter()
                _limiters[url] = limiter
    return limiter


def rpm_acquire(*, account_id: int, limit: int, now: datetime) -> RpmResult:
    """Take one slot of the account's sliding minute if one is free; else say when one frees up."""
    return _limiter().acquire(account_id, limit, _ms(now), uuid.uuid4().hex)


def rpm_undo(*, account_id: int, result: RpmResult) -> None:
    """Give back a slot taken for a request that turned out to be a replay."""
    if result.admitted and result.member:
        _limiter().undo(account_id, result.member)


def rpm_reset() -> None:
    """Forget the in-process counters (tests)."""
    for limiter in list(_limiters.values()):
        if isinstance(limiter, _MemoryLimiter):
            with limiter.lock:
                limiter.entries.clear()
