"""The metering hot path on PostgreSQL: authorize and usage of a subscription key in one statement each
(usage then waits for the WAL flush with a second one: METERING_EARLY_UNLOCK, see _DURABLE_SQL).

The full path (authorize.py, settle.py) locks the windows, reads them, rolls them and writes them back
in a multi-statement transaction. Nearly every call finds nothing to roll, so here the same decision
is made by one statement that locks the account's windows (primary-key order, as the full path does),
checks the room rule `used + reserved < max` on the locked rows and reserves and inserts only if all
three have room, in one round trip (autocommit: the statement is its own transaction).

Each statement also re-checks everything the process cache (hotcache.py) told us: the key (by its
hash: enabled, not deleted, a subscription key), the account's status and multiplier and the
subscription's plan and period. When anything differs, a window must be rolled or started in a way
the statement does not handle, a window has no room, the request id is known already, or the call
is not the plain subscription case, the statement changes nothing and the caller runs the full path,
which makes the exact decision (refusals, Extra Usage, replays, rolls). So the full path's guarantees
hold unchanged; this only makes the common case cheap.

Keys with limits (issue #22, usage/limits.py) take this path too. The authorize statement re-checks
the key's limits (spend limit and period, allow-list, RPM cap) against the cached ones. When the key has
a spend limit, it locks the key's spend row for the current period (`KeySpend`) before the windows, the
full path's lock order, and reserves there too only if `used + reserved < limit` (one request may cross).
A missing period row (the key's first request of a period) or no room is left to the full path, which
creates the row or refuses. The settle statement locks the reservation, then that spend row, then the
windows, and moves the reservation's `key_limit_reserved` to `used` with the call's Flows. The allow-list
and the key's RPM cap are decided before the statement (authorize.py `_authorize_fast`).

Not used on other databases (SQLite): `fast_path_enabled()` is False there and the full path runs.

How the statements are sent (`_execute`, measured with `make bench`; see the README):
- As server-side prepared statements. Planning these joins and CTEs cost more than running them
  (EXPLAIN ANALYZE: 1.8 ms planning, 0.8 ms execution for authorize on a quiet machine); PostgreSQL
  plans a prepared statement generically after five executions and reuses that plan. Only these
  statements are prepared: the ORM keeps Django's client-side binding, unprepared.
- Without the per-request health check (`CONN_HEALTH_CHECKS`' `SELECT 1`, a round trip per call):
  the first statement of a request on a connection kept from an earlier request is its own check.
  If it fails because that connection died (database restart), the connection is replaced and the
  statement sent once more. That is safe because every statement here is idempotent on the
  request id: a repeated authorize inserts nothing (the full path then answers the replay) and a
  repeated settle finds the reservation settled (the full path answers the replay), so a statement
  that committed before the connection broke is never applied twice.
"""

import functools
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.backends.postgresql.base import ServerBindingCursor

from apps.accounts.models import AccountStatus, User
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.plans.models import Plan, Subscription
from apps.usage.models import (
    Decision,
    KeySpend,
    QuotaWindow,
    Reservation,
    ReservationStatus,
    UsageEvent,
    WindowKind,
)


def fast_path_enabled() -> bool:
    return settings.METERING_FAST_PATH and connection.vendor == "postgresql"


class _PreparedCursor(ServerBindingCursor):
    """psycopg's server-side binding cursor, preparing every statement it runs."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


# psycopg prepares nothing while the connection's threshold is None (Django's default, for the sake of
# connection poolers); with this value it still never prepares on its own: only _PreparedCursor does.
_NEVER_BY_ITSELF = 2**31


def _cursor(db):
    db.ensure_connection()
    raw = db.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER_BY_ITSELF
    with db.wrap_database_errors:
        # Django's own wrapping (execute wrappers, query logging, error translation) around our cursor.
        return db._prepare_cursor(_PreparedCursor(raw))


def _execute(sql: str, params) -> tuple:
    """Run one hot-path statement (prepared) and return its single row; see the module docstring."""
    db = connections[DEFAULT_DB_ALIAS]  # `connection` is a proxy: one lookup instead of one per attribute
    check_by_use = (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
    )
    if check_by_use:
        db.health_check_done = True  # the statement below is the check
    try:
        with _cursor(db) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except DatabaseError:
        if not check_by_use or db.is_usable():
            raise
    db.close()  # it died while idle: a fresh connection, the statement once more
    with _cursor(db) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@functools.cache
def _statement(template: str, **extra: str) -> str:
    """A statement's text, built once per process: table names and fixed values (_CONSTANTS) filled in,
    layout dropped.

    psycopg caches the conversion of a query to PostgreSQL's placeholders only for texts of at most
    `_queries.MAX_CACHED_STATEMENT_LENGTH` characters (4096); a longer one is converted again on every
    call. Dropping the layout (runs of whitespace, and any around parentheses and commas: these
    statements hold no string literal where that would matter) keeps them under it
    (tests/usage/test_hot_path.py).
    """
    text = re.sub(r"\s+", " ", template.format(**_tables(), **extra))
    for name, value in _CONSTANTS.items():  # fixed values travel in the text, not as parameters
        if not re.fullmatch(r"[a-z_]+", value):  # so that the literal needs no quoting
            raise ValueError(f"not a plain constant: {value!r}")
        text = text.replace(f"%({name})s", f"'{value}'")
    return re.sub(r" ?([(),]) ?", r"\1", text).strip()


# Values the statements compare or write that never vary: part of the statement's text (each parameter
# costs adapting and sending on every call).
_CONSTANTS = {
    "kind": ApiKeyKind.SUBSCRIPTION,
    "enabled": ApiKeyStatus.ENABLED,
    "five": WindowKind.FIVE_HOUR,
    "weekly": WindowKind.WEEKLY,
    "monthly": WindowKind.MONTHLY,
    "decision": Decision.SUBSCRIPTION,
    "active": ReservationStatus.ACTIVE,
    "settled": ReservationStatus.SETTLED,
    "abusive_status": AccountStatus.ABUSIVE,
}


def _tables() -> dict[str, str]:
    return {
        "key": ApiKey._meta.db_table,
        "user": User._meta.db_table,
        "sub": Subscription._meta.db_table,
        "plan": Plan._meta.db_table,
        "win": QuotaWindow._meta.db_table,
        "res": Reservation._meta.db_table,
        "event": UsageEvent._meta.db_table,
        "spend": KeySpend._meta.db_table,
    }


# --- facts for a key seen for the first time in this process ------------------------------------------

_FACTS_SQL = """
SELECT k.id, k.account_id, k.kind, u.status, u.flow_value_multiplier, s.plan_id, p.rank, p.rpm, p.name,
  k.spend_limit, k.spend_limit_period, k.allowed_models::text, k.rpm_limit
FROM {key} k JOIN {user} u ON u.id = k.account_id
JOIN {sub} s ON s.account_id = k.account_id JOIN {plan} p ON p.id = s.plan_id
WHERE k.secret_hash = %s AND k.kind = %s AND k.status = %s AND k.deleted_at IS NULL AND u.is_active
"""


@dataclass(frozen=True)
class LoadedFacts:
    key_id: int
    account_id: int
    kind: str
    status: str
    flow_value_multiplier: Decimal
    plan_id: int
    plan_rank: int
    plan_rpm: int
    plan_name: str
    spend_limit: Decimal | None
    spend_limit_period: str
    allowed_models_json: str
    rpm_limit: int | None


def facts_load(secret_hash: str) -> LoadedFacts | None:
    """An enabled subscription key's facts in one statement (None: let the full path decide)."""
    row = _execute(_statement(_FACTS_SQL), [secret_hash, ApiKeyKind.SUBSCRIPTION, ApiKeyStatus.ENABLED])
    return LoadedFacts(*row) if row else None


# --- authorize ----------------------------------------------------------------------------------------

_AUTHORIZE_SQL = """
WITH k AS (
  SELECT k.account_id, k.spend_limit, s.current_period_start, s.current_period_end,
         p.quota_5h_flows, p.weekly_max_flows, p.monthly_max_flows
  FROM {key} k JOIN {user} u ON u.id = k.account_id
  JOIN {sub} s ON s.account_id = k.account_id JOIN {plan} p ON p.id = s.plan_id
  WHERE k.id = %(key_id)s AND k.secret_hash = %(hash)s AND k.kind = %(kind)s AND k.status = %(enabled)s
    AND k.deleted_at IS NULL AND k.account_id = %(account_id)s
    AND k.spend_limit IS NOT DISTINCT FROM %(spend_limit)s::numeric AND k.spend_limit_period = %(period)s
    AND k.allowed_models = %(allowed_models)s::jsonb AND k.rpm_limit IS NOT DISTINCT FROM %(rpm_limit)s::integer
    AND u.is_active AND u.status = %(account_status)s AND u.flow_value_multiplier = %(multiplier)s
    AND s.plan_id = %(plan_id)s AND s.current_period_end > %(now)s
), ks AS (
  SELECT s.id, s.used, s.reserved FROM {spend} s
  WHERE s.api_key_id = %(key_id)s AND s.period_start = %(limit_start)s::timestamptz AND EXISTS (SELECT 1 FROM k)
  FOR UPDATE
), w AS (
  SELECT w.id, w.kind, w.started_at, w.resets_at, w.used_flows, w.reserved_flows
  FROM {win} w WHERE w.account_id = %(account_id)s AND EXISTS (SELECT 1 FROM k)
    AND (%(limit_start)s::timestamptz IS NULL OR EXISTS (SELECT 1 FROM ks))
  ORDER BY w.id FOR UPDATE
), ok AS (
  SELECT count(*) = 3 AND (%(limit_start)s::timestamptz IS NULL
      OR (SELECT count(*) FROM ks, k WHERE ks.used + ks.reserved < k.spend_limit) = 1) AS ok,
    max(CASE WHEN w.kind = %(five)s THEN COALESCE(w.started_at, %(now)s) END) AS five_start,
    max(CASE WHEN w.kind = %(weekly)s THEN COALESCE(w.started_at, %(now)s) END) AS weekly_start,
    max(CASE WHEN w.kind = %(monthly)s THEN w.started_at END) AS monthly_start
  FROM w, k
  WHERE w.used_flows + w.reserved_flows < CASE w.kind WHEN %(five)s THEN k.quota_5h_flows
      WHEN %(weekly)s THEN k.weekly_max_flows ELSE k.monthly_max_flows END
    AND CASE WHEN w.kind = %(monthly)s
      THEN w.started_at = k.current_period_start AND w.resets_at = k.current_period_end
      ELSE (w.started_at IS NULL AND w.resets_at IS NULL) OR (w.started_at IS NOT NULL AND w.resets_at > %(now)s)
    END
), ins AS (
  INSERT INTO {res} (request_id, account_id, api_key_id, model_id, decision, extra_usage, billed_key_id,
    reserved_flows, reserved_usd, five_hour_started_at, weekly_started_at, monthly_started_at,
    rpm_remaining, status, created_at, settled_at, client_ip, client_user_agent, key_limit_start,
    key_limit_reserved)
  SELECT %(request_id)s, %(account_id)s, %(key_id)s, %(model_id)s, %(decision)s, false, NULL,
    %(flows)s, 0, ok.five_start, ok.weekly_start, ok.monthly_start,
    %(rpm_remaining)s, %(active)s, %(now)s, NULL, %(client_ip)s, %(client_user_agent)s,
    %(limit_start)s::timestamptz, CASE WHEN %(limit_start)s::timestamptz IS NULL THEN 0 ELSE %(flows)s END
  FROM ok WHERE ok.ok
  ON CONFLICT (request_id) DO NOTHING
  RETURNING id
), upd AS (
  UPDATE {win} t SET reserved_flows = w.reserved_flows + %(flows)s,
    started_at = CASE WHEN w.kind <> %(monthly)s AND w.started_at IS NULL THEN %(now)s ELSE w.started_at END,
    resets_at = CASE WHEN w.kind = %(five)s AND w.started_at IS NULL THEN %(now)s + interval '5 hours'
      WHEN w.kind = %(weekly)s AND w.started_at IS NULL THEN %(now)s + interval '7 days'
      ELSE w.resets_at END
  FROM w, ins WHERE t.id = w.id
  RETURNING t.id
), spend AS (
  UPDATE {spend} t SET reserved = ks.reserved + %(flows)s FROM ks, ins WHERE t.id = ks.id
  RETURNING t.id
)
SELECT (SELECT id FROM ins), (SELECT count(*) FROM upd), (SELECT count(*) FROM spend), (SELECT count(*) FROM k),
  (SELECT five_start FROM ok), (SELECT weekly_start FROM ok), (SELECT monthly_start FROM ok){commit}
"""

# METERING_ASYNC_RESERVATIONS: this statement's transaction (and only it) commits without waiting for
# the WAL flush. See the README ("Metering performance") for why a reservation lost in a database crash
# costs no customer money and bills nothing twice. Usage always waits for the flush before it answers
# (in its own commit, or with _DURABLE_SQL under METERING_EARLY_UNLOCK).
_ASYNC_COMMIT = ",set_config('synchronous_commit','off',true)"


@dataclass(frozen=True)
class KeyLimits:
    """The key's limits as the caller's cache has them (the statement re-checks them on the key row) and
    the start of its current spend period (None: no spend limit)."""

    spend_limit: Decimal | None = None
    spend_limit_period: str = ""
    allowed_models_json: str = "[]"
    rpm_limit: int | None = None
    period_start: datetime | None = None


NO_LIMITS = KeyLimits()


@dataclass(frozen=True)
class FastReservation:
    reservation_id: int | None  # None: nothing changed
    facts_current: bool  # False: the key, account or subscription differ from what the caller assumed


def authorize_reserve(
    *,
    request_id: str,
    secret_hash: str,
    key_id: int,
    account_id: int,
    account_status: str,
    multiplier: Decimal,
    plan_id: int,
    model_id: int,
    flows: Decimal,
    rpm_remaining: int | None,
    now: datetime,
    client_ip: str | None = None,
    client_user_agent: str | None = None,
    limits: KeyLimits = NO_LIMITS,
) -> FastReservation:
    """Reserve `flows` in all three windows (and in the key's spend period when it has a spend limit)
    and insert the reservation, or change nothing."""
    params = {
        "key_id": key_id,
        "hash": secret_hash,
        "account_id": account_id,
        "account_status": account_status,
        "multiplier": multiplier,
        "plan_id": plan_id,
        "now": now,
        "request_id": request_id,
        "model_id": model_id,
        "flows": flows,
        "rpm_remaining": rpm_remaining,
        "client_ip": client_ip,
        "client_user_agent": client_user_agent,
        "spend_limit": limits.spend_limit,
        "period": limits.spend_limit_period,
        "allowed_models": limits.allowed_models_json,
        "rpm_limit": limits.rpm_limit,
        "limit_start": limits.period_start,
    }
    # Only when the statement is its own transaction: inside a caller's transaction the setting would
    # reach that transaction's commit, which may hold anything.
    asynchronous = settings.METERING_ASYNC_RESERVATIONS and not connection.in_atomic_block
    commit = _ASYNC_COMMIT if asynchronous else ""
    with IN_FLIGHT:
        reservation_id, updated, spent, facts_rows, *_starts = _execute(
            _statement(_AUTHORIZE_SQL, commit=commit), params
        )
    expected_spent = 0 if limits.period_start is None else 1
    if reservation_id is not None and (updated, spent) != (3, expected_spent):  # cannot happen: locked here
        raise RuntimeError(f"fast authorize updated {updated} windows and {spent} key spend rows")
    return FastReservation(reservation_id, facts_rows == 1)


# --- usage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservationFacts:
    id: int
    account_id: int
    api_key_id: int
    model_id: int
    decision: str
    extra_usage: bool
    status: str
    account_status: str
    flow_value_multiplier: Decimal
    key_limited: bool  # reserved against a key spend limit: settled in its key spend row too

    @property
    def plain_subscription(self) -> bool:
        return (
            self.decision == Decision.SUBSCRIPTION
            and not self.extra_usage
            and self.status == ReservationStatus.ACTIVE
        )


@dataclass(frozen=True)
class FlowsCandidate:
    """The Flows of this call for accounts with this multiplier and abusive-or-not status (the two facts
    the effective Flow rate depends on, plans.selectors.flow_value_multiplier)."""

    multiplier: Decimal
    abusive: bool
    flows: Decimal


@dataclass(frozen=True)
class SettledWindow:
    """A window as the settle statement left it (used after the update) and its plan's maximum."""

    kind: str
    started_at: datetime
    resets_at: datetime | None
    used_flows: Decimal
    maximum: Decimal


@dataclass(frozen=True)
class KeySpendSettled:
    key: SimpleNamespace  # the key's facts limits.key_spend_alert needs
    start: datetime
    used_before: Decimal
    used_after: Decimal


@dataclass(frozen=True)
class Settlement:
    facts: ReservationFacts | None  # the reservation as the statement found it (None: unknown id)
    flows: Decimal | None  # the Flows settled; None: nothing changed
    windows: list[SettledWindow] | None = None  # the three windows after the update (quota alerts)
    key_spend: KeySpendSettled | None = None  # the key's spend counter before/after (limit alerts)


# Usage in one round trip: the Flows of a call depend on the account's multiplier and status, which only
# the reservation tells; so the caller computes them (in Python, money.py's rounding) for the few
# (multiplier, abusive) pairs it expects, and the statement uses the one that matches the account.
# When none does (or the call is not the plain subscription case) it changes nothing and returns the
# reservation's facts, from which the caller computes the exact Flows and sends the statement once more
# with that single candidate. The reservation is locked first, then the windows (the full path's order).
_SETTLE_SQL = """
WITH info AS (
  SELECT r.id, r.account_id, r.api_key_id, r.model_id, r.decision, r.extra_usage, r.status,
    u.status AS account_status, u.flow_value_multiplier, r.key_limit_start IS NOT NULL AS key_limited
  FROM {res} r JOIN {user} u ON u.id = r.account_id WHERE r.request_id = %(request_id)s
), pick AS (
  SELECT info.id, info.account_id, c.flows
  FROM info JOIN unnest(%(multipliers)s::numeric[], %(abusive)s::boolean[], %(flows)s::numeric[])
    AS c(multiplier, abusive, flows)
    ON c.multiplier = info.flow_value_multiplier AND c.abusive = (info.account_status = %(abusive_status)s)
  WHERE info.decision = %(decision)s AND NOT info.extra_usage AND info.status = %(active)s
  LIMIT 1
), r AS (
  SELECT r.id, r.reserved_flows, r.five_hour_started_at, r.weekly_started_at, r.monthly_started_at,
    r.api_key_id, r.key_limit_start, r.key_limit_reserved, pick.flows
  FROM {res} r JOIN pick ON pick.id = r.id WHERE r.status = %(active)s FOR UPDATE OF r
), ks AS (
  SELECT ks.id, ks.used, ks.reserved
  FROM {spend} ks JOIN r ON ks.api_key_id = r.api_key_id AND ks.period_start = r.key_limit_start
  FOR UPDATE OF ks
), s AS (
  SELECT s.current_period_start, s.current_period_end, p.quota_5h_flows, p.weekly_max_flows,
    p.monthly_max_flows
  FROM {sub} s JOIN pick ON pick.account_id = s.account_id JOIN {plan} p ON p.id = s.plan_id
  WHERE s.current_period_end > %(now)s
), w AS (
  SELECT w.id, w.kind, w.started_at, w.resets_at, w.used_flows, w.reserved_flows
  FROM {win} w WHERE w.account_id = (SELECT account_id FROM pick) AND EXISTS (SELECT 1 FROM r)
    AND (SELECT count(*) FROM ks) = (SELECT count(*) FROM r WHERE r.key_limit_start IS NOT NULL)
  ORDER BY w.id FOR UPDATE
), ok AS (
  SELECT count(*) = 3 AS ok FROM w, r, s
  WHERE CASE w.kind
      WHEN %(five)s THEN w.started_at = r.five_hour_started_at AND w.resets_at > %(now)s
      WHEN %(weekly)s THEN w.started_at = r.weekly_started_at AND w.resets_at > %(now)s
      ELSE w.started_at = r.monthly_started_at AND w.started_at = s.current_period_start
        AND w.resets_at = s.current_period_end
    END
), settled AS (
  UPDATE {res} t SET status = %(settled)s, settled_at = %(now)s
  FROM ok, r WHERE t.id = r.id AND ok.ok AND t.status = %(active)s
  RETURNING t.id, t.request_id, t.account_id, t.api_key_id, t.model_id, t.client_ip, t.client_user_agent
), event AS (
  INSERT INTO {event} (request_id, account_id, api_key_id, model_id, input_tokens, output_tokens, cost_usd,
    flows, billed_to, extra_usage, billed_key_id, created_at, client_ip, client_user_agent)
  SELECT settled.request_id, settled.account_id, settled.api_key_id, settled.model_id, %(input)s, %(output)s,
    %(cost)s, r.flows, %(decision)s, false, NULL, %(now)s, settled.client_ip, settled.client_user_agent
  FROM settled, r
  RETURNING id, flows
), windows AS (
  UPDATE {win} t SET reserved_flows = GREATEST(0, w.reserved_flows - r.reserved_flows),
    used_flows = w.used_flows + r.flows
  FROM w, r, settled WHERE t.id = w.id
  RETURNING t.id, t.kind, t.started_at, t.resets_at, t.used_flows
), spend AS (
  UPDATE {spend} t SET reserved = GREATEST(0, ks.reserved - r.key_limit_reserved), used = ks.used + r.flows
  FROM ks, r, settled WHERE t.id = ks.id
  RETURNING t.id, ks.used AS used_before, t.used AS used_after, r.key_limit_start
), counters AS (
  UPDATE {key} k SET used_flows = k.used_flows + r.flows, used_usd = k.used_usd + %(cost)s,
    request_count = k.request_count + 1
  FROM settled, r WHERE k.id = settled.api_key_id
  RETURNING k.id, k.name, k.spend_limit, k.spend_limit_period
)
SELECT (SELECT id FROM event), (SELECT flows FROM event), (SELECT count(*) FROM windows),
  (SELECT count(*) FROM counters), (SELECT count(*) FROM spend),
  (SELECT ARRAY[key_limit_start::text, used_before::text, used_after::text] FROM spend),
  (SELECT ARRAY[name, spend_limit::text, spend_limit_period] FROM counters),
  (SELECT array_agg(ARRAY[kind, started_at::text, resets_at::text, used_flows::text] ORDER BY id)
   FROM windows),
  (SELECT ARRAY[quota_5h_flows, weekly_max_flows, monthly_max_flows] FROM s),
  info.*
FROM (SELECT {one}) AS one LEFT JOIN info ON true
"""
# METERING_EARLY_UNLOCK, while the process runs other metering statements (IN_FLIGHT, below): the settle
# statement commits without waiting for the WAL flush, so the account's window rows (and the key's spend
# row) are unlocked before the disk write instead of after it, and this second statement then waits for
# that flush before usage answers. A transaction waits for the flush at commit only if it wrote WAL
# itself (an xid alone is not enough): a transactional logical message is the smallest such write (a few
# bytes, any wal_level, no table), and its flush covers every earlier commit, the settle's included. So
# usage still answers 200 only once the settled request is durable; what changes is that other requests
# of the same account no longer queue behind the disk (README "Metering performance").
_DURABLE_SQL = "SELECT pg_logical_emit_message(true,'flowport','')"


class _InFlight:
    """How many hot-path statements this process is running (its threads'): `with IN_FLIGHT as others`."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def __enter__(self) -> int:
        with self._lock:
            self.count += 1
            return self.count - 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.count -= 1


IN_FLIGHT = _InFlight()


def usage_settle(
    *,
    request_id: str,
    candidates: list[FlowsCandidate],
    input_tokens: int,
    output_tokens: int,
    cost: Decimal,
    now: datetime,
) -> Settlement:
    """Settle an active plain subscription reservation in one statement with the candidate matching its
    account, or change nothing; either way return the reservation's facts (see above)."""
    params = {
        "request_id": request_id,
        "multipliers": [c.multiplier for c in candidates],
        "abusive": [c.abusive for c in candidates],
        "flows": [c.flows for c in candidates],
        "now": now,
        "input": input_tokens,
        "output": output_tokens,
        "cost": cost,
    }
    with IN_FLIGHT as others:
        # Only when the statement is its own transaction (as authorize's asynchronous commit), and only
        # while this process has other metering statements running: alone, nobody here waits for the rows
        # and one round trip (the commit waiting for the flush itself) answers sooner.
        early_unlock = settings.METERING_EARLY_UNLOCK and others > 0 and not connection.in_atomic_block
        event_id, flows, windows, counters, spent, spend_row, key_row, rows, maxima, *facts = _execute(
            _statement(_SETTLE_SQL, one=_ASYNC_COMMIT[1:] if early_unlock else "1"), params
        )
        if early_unlock and event_id is not None:
            _execute(_DURABLE_SQL, None)
    found = ReservationFacts(*facts) if facts[0] is not None else None
    if event_id is None:
        return Settlement(found, None)
    if (windows, counters, spent) != (3, 1, int(found.key_limited)):  # cannot happen: locked here
        raise RuntimeError(
            f"fast usage updated {windows} windows, {counters} keys and {spent} key spend rows"
        )
    maximum = dict(zip((WindowKind.FIVE_HOUR, WindowKind.WEEKLY, WindowKind.MONTHLY), maxima, strict=True))
    settled = [
        SettledWindow(
            kind=kind,
            started_at=datetime.fromisoformat(started),
            resets_at=datetime.fromisoformat(resets) if resets else None,
            used_flows=Decimal(used),
            maximum=maximum[kind],
        )
        for kind, started, resets, used in rows
    ]
    key_spend = None
    if spend_row is not None:  # the key's spend counter moved (its limit as it is now: the alert's measure)
        name, limit, period = key_row
        start, before, after = spend_row
        key_spend = KeySpendSettled(
            key=SimpleNamespace(
                pk=found.api_key_id,
                account_id=found.account_id,
                name=name,
                kind=ApiKeyKind.SUBSCRIPTION,
                spend_limit=Decimal(limit) if limit is not None else None,
                spend_limit_period=period,
            ),
            start=datetime.fromisoformat(start),
            used_before=Decimal(before),
            used_after=Decimal(after),
        )
    return Settlement(found, flows, settled, key_spend)
