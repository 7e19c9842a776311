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

# Several limits at once, all or nothing (a key's own RPM cap and its account's, issue #22), in one round
# trip. KEYS = the sets; ARGV = now (ms), window (ms), member, then one limit per set.
# Returns {admitted 1|0, remaining in the last set after this request, milliseconds until a slot frees}.
_LUA_ALL = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
local refused = false
local remaining = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  remaining = limit - count - 1
  if count >= limit then
    refused = true
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if refused then
  return {0, 0, wait}
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return {1, remaining, 0}
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
        self.script_all = self.client.register_script(_LUA_ALL)

    def acquire(self, account_id: int, limit: int, now_ms: int, member: str) -> RpmResult:
        return self._run(
            account_id,
            lambda: self.script(keys=[f"{KEY_PREFIX}{account_id}"], args=[now_ms, WINDOW_MS, limit, member]),
            member,
        )

    def acquire_all(self, limits: list[tuple[object, int]], now_ms: int, member: str) -> RpmResult:
        return self._run(
            limits[-1][0],
            lambda: self.script_all(
                keys=[f"{KEY_PREFIX}{name}" for name, _limit in limits],
                args=[now_ms, WINDOW_MS, member, *(limit for _name, limit in limits)],
            ),
            member,
        )

    def _run(self, account_id, call, member: str) -> RpmResult:
        try:
            admitted, remaining, wait = call()
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
        self.undo_all([account_id], member)

    def undo_all(self, names: list, member: str) -> None:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.zrem(f"{KEY_PREFIX}{name}", member)
                pipe.execute()
        except self.errors:
            logger.warning("rpm undo skipped: Redis unavailable")


class _MemoryLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[int, deque] = {}

    def acquire(self, account_id: int, limit: int, now_ms: int, member: str) -> RpmResult:
        return self.acquire_all([(account_id, limit)], now_ms, member)

    def acquire_all(self, limits: list[tuple[object, int]], now_ms: int, member: str) -> RpmResult:
        with self.lock:
            sets = []
            wait = 0
            for name, limit in limits:
                entries = self.entries.setdefault(name, deque())
                while entries and entries[0][0] <= now_ms - WINDOW_MS:
                    entries.popleft()
                if len(entries) >= limit:
                    wait = max(wait, entries[0][0] + WINDOW_MS - now_ms)
                sets.append((entries, limit))
            if wait > 0 or any(len(entries) >= limit for entries, limit in sets):
                return RpmResult(False, 0, _seconds(wait))
            for entries, _limit in sets:
                entries.append((now_ms, member))
            entries, limit = sets[-1]
            return RpmResult(True, limit - len(entries), 0, member)

    def undo(self, account_id: int, member: str) -> None:
        self.undo_all([account_id], member)

    def undo_all(self, names: list, member: str) -> None:
        with self.lock:
            for name in names:
                entries = self.entries.get(name)
                if entries:
                    self.entries[name] = deque(e for e in entries if e[1] != member)


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


def rpm_acquire_all(*, limits: list[tuple[object, int]], now: datetime) -> RpmResult:
    """Take one slot in each of several sliding minutes (e.g. `("key:7", 10), (account_id, 60)`) if every
    one has a free slot, else none (one Redis round trip); `remaining` is the last one's."""
    return _limiter().acquire_all(limits, _ms(now), uuid.uuid4().hex)


def rpm_undo_all(*, names: list, result: RpmResult) -> None:
    """Give back the slots an `rpm_acquire_all` took (one Redis round trip)."""
    if result.admitted and result.member:
        _limiter().undo_all(names, result.member)


def rpm_reset() -> None:
    """Forget the in-process counters (tests)."""
    for limiter in list(_limiters.values()):
        if isinstance(limiter, _MemoryLimiter):
            with limiter.lock:
                limiter.entries.clear()
