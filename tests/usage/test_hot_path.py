"""The metering hot path (usage/services/fastpath.py, usage/hotcache.py) and its faults.

Statement counts, cached facts that go stale, Redis down or flushed, and a database connection lost
in the middle of a request. The guarantees themselves (room rule, replays, sums) are the other tests'
subject: they all run through the same hot path on PostgreSQL. Tests marked `postgresql` are about the
PostgreSQL hot path itself and stay out of the SQLite tier (which always takes the full path); the
others hold on both.
"""

import logging
import socket
from decimal import Decimal

import psycopg
import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from apps.accounts.models import AccountStatus, User
from apps.api_keys.models import ApiKey, ApiKeyStatus
from apps.api_keys.services import api_key_set_status
from apps.plans.models import CatalogModel, ModelStatus
from apps.usage import hotcache, rpm
from apps.usage.models import QuotaWindow, Reservation, ReservationStatus, UsageEvent
from apps.usage.services import fastpath
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, cent_rate, gateway_client, make_plan, put_on_plan, release, usage

CHAT = "deepseek/deepseek-chat"


@pytest.fixture
def metered(user):
    """An account on a roomy plan at $0.01 per Flow with one subscription key; returns (key, secret)."""
    cent_rate()
    put_on_plan(user, make_plan(q5h="100", weekly="300", monthly="500", rpm=50))
    return make_key(account=user)


def windows(user) -> dict[str, tuple[Decimal, Decimal]]:
    return {w.kind: (w.used_flows, w.reserved_flows) for w in QuotaWindow.objects.filter(account=user)}


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_warm_pair_takes_one_statement_to_authorize_and_one_to_settle(user, metered):
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "warm", secret).status_code == 200  # loads the key's facts once
    assert usage(client, "warm", cost="0.03").status_code == 200

    with CaptureQueriesContext(connection) as authorize_queries:
        response = authorize(client, "hot", secret, estimate="0.05")
    with CaptureQueriesContext(connection) as usage_queries:
        settled = usage(client, "hot", cost="0.04")

    assert response.status_code == 200
    assert response.json()["data"]["reserved_flows"] == "5.000000"
    assert response.json()["data"]["rpm_remaining"] == 48
    assert settled.json()["data"] == {
        "request_id": "hot",
        "billed_to": "subscription",
        "extra_usage": False,
        "flows": "4.000000",
        "cost_usd": "0.040000",
    }
    assert len(authorize_queries) == 1
    assert len(usage_queries) == 1
    assert windows(user) == {
        "five_hour": (Decimal("7"), Decimal("0")),
        "weekly": (Decimal("7"), Decimal("0")),
        "monthly": (Decimal("7"), Decimal("0")),
    }
    key = ApiKey.objects.get(pk=_key.pk)
    assert (key.used_flows, key.used_usd, key.request_count) == (Decimal("7"), Decimal("0.07"), 2)


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_warm_pair_reuses_psycopgs_converted_statements(user, metered, monkeypatch):
    """psycopg converts a query's placeholders once and caches it only while the query is short enough
    (fastpath._statement); a hot-path statement converted afresh on every call costs CPU on each."""
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "warm", secret).status_code == 200
    assert usage(client, "warm", cost="0.03").status_code == 200
    uncached = []
    for name in ("_query2pg_nocache", "_query2pg_client_nocache"):
        original = getattr(psycopg._queries, name)
        monkeypatch.setattr(
            psycopg._queries,
            name,
            lambda *args, _original=original: uncached.append(args) or _original(*args),
        )

    with CaptureQueriesContext(connection) as queries:
        assert authorize(client, "hot", secret).status_code == 200
        assert usage(client, "hot", cost="0.04").status_code == 200

    assert len(queries) == 2
    assert uncached == []


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "multiplier", "flows"),
    [
        (AccountStatus.HEALTHY, "1.5000", "2.000000"),  # an insider: $0.03 at $0.015 a Flow
        (AccountStatus.ABUSIVE, "1.0000", "3.750000"),  # capped at 0.8: $0.03 at $0.008 a Flow
        (AccountStatus.HEALTHY, "0.7000", "4.285714"),  # $0.03 / $0.007, rounded half-up to 6 places
    ],
)
def test_usage_of_an_account_whose_rate_this_process_has_not_seen_takes_a_second_statement(
    user, metered, status, multiplier, flows
):
    """Usage handled by another process than authorize: the account's Flow rate is not among the ones
    guessed, so the first statement only reads the reservation and the second settles exactly."""
    key, secret = metered
    User.objects.filter(pk=user.pk).update(status=status, flow_value_multiplier=Decimal(multiplier))
    client = gateway_client()
    assert authorize(client, "warm", secret, estimate="0").status_code == 200  # the key's use is noted
    assert usage(client, "warm", cost="0").status_code == 200
    assert authorize(client, "r", secret, estimate="0.05").status_code == 200
    # What another process knows: the catalog and the rate, nothing about this account.
    hotcache._cache.accounts.clear()
    hotcache._cache.rate_kinds = {hotcache.PLAIN_RATE_KIND: None}

    with CaptureQueriesContext(connection) as queries:
        settled = usage(client, "r", cost="0.03")

    assert settled.status_code == 200
    assert settled.json()["data"]["flows"] == flows
    assert len(queries) == 2
    assert [e.flows for e in UsageEvent.objects.filter(request_id="r")] == [Decimal(flows)]
    assert windows(user)["weekly"] == (Decimal(flows), Decimal("0"))
    assert ApiKey.objects.get(pk=key.pk).used_flows == Decimal(flows)

    assert authorize(client, "r2", secret, estimate="0.05").status_code == 200  # now this process knows it
    with CaptureQueriesContext(connection) as queries:
        again = usage(client, "r2", cost="0.03")
    assert again.json()["data"]["flows"] == flows
    assert len(queries) == 1


@pytest.mark.postgresql
@pytest.mark.django_db
def test_usage_priced_from_list_prices_takes_a_second_statement(user, metered):
    """Without cost_usd the cost depends on the reservation's model, known only after the first read."""
    _key, secret = metered
    CatalogModel.objects.filter(slug=CHAT).update(
        input_usd_per_mtok=Decimal("0.28"), output_usd_per_mtok=Decimal("0.42"), usd_per_request=None
    )
    hotcache.metering_cache_reset()
    client = gateway_client()
    assert authorize(client, "warm", secret, estimate="0").status_code == 200  # the key's use is noted
    assert usage(client, "warm", cost="0").status_code == 200
    assert authorize(client, "r", secret, estimate="0.05").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        settled = usage(client, "r", cost=None, input_tokens=500_000, output_tokens=500_000)

    assert settled.json()["data"]["cost_usd"] == "0.350000"
    assert settled.json()["data"]["flows"] == "35.000000"
    assert len(queries) == 2  # below the quota alert range (50%): no notification query either
    assert windows(user)["five_hour"] == (Decimal("35"), Decimal("0"))


@pytest.mark.django_db
def test_a_key_disabled_after_its_facts_were_cached_is_refused_at_once(user, metered):
    key, secret = metered
    client = gateway_client()
    assert authorize(client, "before", secret).status_code == 200
    before = windows(user)

    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    response = authorize(client, "after", secret)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This API key is disabled."
    assert windows(user) == before
    assert not Reservation.objects.filter(request_id="after").exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_catalog_edit_elsewhere_is_seen_once_the_version_stamp_is_checked(user, metered, monkeypatch):
    """Another process's edit: the row changes without a signal here, and the shared stamp moves."""
    _key, secret = metered
    client = gateway_client()
    now = [1000.0]
    monkeypatch.setattr(hotcache._cache, "clock", lambda: now[0])
    assert authorize(client, "a", secret).status_code == 200

    CatalogModel.objects.filter(slug=CHAT).update(status=ModelStatus.COMING_SOON)  # no signal
    cache.set(hotcache.STAMP_KEY, "another process bumped it")
    now[0] += 0.1  # within the check interval the process still trusts its cache
    assert authorize(client, "b", secret).status_code == 200

    now[0] += 0.5  # one check interval later the stamp is read and the cache dropped
    response = authorize(client, "c", secret)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "model_not_available"


@pytest.mark.django_db
def test_a_catalog_edit_in_this_process_takes_effect_on_the_next_call(user, metered):
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "a", secret).status_code == 200

    model = CatalogModel.objects.get(slug=CHAT)
    model.status = ModelStatus.COMING_SOON
    model.save()

    assert authorize(client, "b", secret).json()["error"]["type"] == "model_not_available"


@pytest.mark.django_db
def test_a_plan_change_after_caching_applies_the_new_maxima_at_once(user, metered):
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "a", secret, estimate="0.05").status_code == 200
    assert usage(client, "a", cost="0.05").status_code == 200

    put_on_plan(user, make_plan(tier="tiny", rank=11, q5h="5", weekly="300", monthly="500", rpm=50))
    response = authorize(client, "b", secret)

    assert response.status_code == 402
    assert response.json()["error"]["type"] == "quota_exceeded"


@pytest.mark.django_db
def test_after_a_redis_flush_windows_and_counts_are_still_exact(user, metered):
    """Windows and wallet room live in PostgreSQL only: a flush loses the RPM minute, nothing else."""
    _key, secret = metered
    client = gateway_client()
    for n in range(3):
        assert authorize(client, f"r{n}", secret, estimate="0.02").status_code == 200
        assert usage(client, f"r{n}", cost="0.02").status_code == 200
    assert authorize(client, "open", secret, estimate="0.05").status_code == 200

    cache.clear()  # FLUSHDB of the Redis database the portal uses

    response = authorize(client, "after", secret, estimate="0.01")
    assert response.status_code == 200
    assert response.json()["data"]["rpm_remaining"] == 49  # the minute restarted empty
    assert usage(client, "after", cost="0.01").status_code == 200
    assert usage(client, "open", cost="0.03").status_code == 200
    assert windows(user) == {
        "five_hour": (Decimal("10"), Decimal("0")),
        "weekly": (Decimal("10"), Decimal("0")),
        "monthly": (Decimal("10"), Decimal("0")),
    }
    assert sum(e.flows for e in UsageEvent.objects.filter(account=user)) == Decimal("10")


def _unused_port() -> int:
    """A port nothing listens on (a fixed one may be taken, e.g. by `make bench-faults`'s Redis on 6399)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DEAD_REDIS = f"redis://127.0.0.1:{_unused_port()}/0"  # nothing listens there: Redis is down


@pytest.mark.django_db
def test_with_redis_down_the_gateway_keeps_answering_and_rpm_fails_open(user, metered, caplog):
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "up", secret, estimate="0").status_code == 200
    before = rpm.rpm_fail_open_total()
    dead_cache = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}
    }
    with override_settings(REDIS_URL=DEAD_REDIS, CACHES=dead_cache), caplog.at_level(logging.WARNING):
        hotcache.metering_cache_reset()
        first = authorize(client, "down", secret, estimate="0.05")
        settled = usage(client, "down", cost="0.02")

    assert first.status_code == 200
    assert first.json()["data"]["rpm_remaining"] is None  # admitted without an RPM check
    assert settled.status_code == 200
    assert settled.json()["data"]["flows"] == "2.000000"
    assert rpm.rpm_fail_open_total() == before + 1
    assert any("rpm fail-open" in record.getMessage() for record in caplog.records)
    assert windows(user)["five_hour"] == (Decimal("2"), Decimal("0"))


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_fails_the_call_cleanly_and_the_next_one_recovers(user, metered):
    """What a PostgreSQL restart does to a worker: its connection dies under the request in flight."""
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "x", secret, estimate="0.05").status_code == 200
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    ) as admin:
        admin.execute("select pg_terminate_backend(%s)", [pid])

    failed = usage(client, "x", cost="0.03")

    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    assert failed.json() == {
        "success": False,
        "error": {
            "code": "503",
            "type": "service_unavailable",
            "message": "The service is temporarily unavailable. Retry the request.",
        },
    }
    retried = usage(client, "x", cost="0.03")  # the gateway retries: a fresh connection, settled once
    assert retried.status_code == 200
    assert usage(client, "x", cost="0.03").status_code == 200  # a replay bills nothing more
    assert Reservation.objects.get(request_id="x").status == ReservationStatus.SETTLED
    assert [e.flows for e in UsageEvent.objects.filter(request_id="x")] == [Decimal("3")]
    assert windows(user)["five_hour"] == (Decimal("3"), Decimal("0"))


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_with_health_checks_a_connection_that_died_idle_is_replaced_by_the_first_statement(
    user, metered, monkeypatch
):
    """Production's CONN_HEALTH_CHECKS: the hot path's first statement is the check (no `SELECT 1` round
    trip); a connection that died between two requests is replaced and the call answers normally."""
    _key, secret = metered
    client = gateway_client()
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", None)
    connection.close()
    try:
        assert authorize(client, "x", secret, estimate="0.05").status_code == 200
        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            dbname=settings["NAME"],
        ) as admin:
            admin.execute("select pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
        close_old_connections()  # what every request starts with: the health check is due again

        settled = usage(client, "x", cost="0.03")

        assert settled.status_code == 200
        assert settled.json()["data"]["flows"] == "3.000000"
        assert [e.flows for e in UsageEvent.objects.filter(request_id="x")] == [Decimal("3")]
        assert windows(user)["five_hour"] == (Decimal("3"), Decimal("0"))
    finally:
        connection.close()


def _statements(run) -> list[str]:
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run()
    return sent


ASYNC_COMMIT = "set_config('synchronous_commit','off',true)"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_only_the_fast_reservation_commits_without_waiting_for_the_wal_flush(user, metered):
    """METERING_ASYNC_RESERVATIONS: authorize's statement sets synchronous_commit off for its own
    transaction. METERING_EARLY_UNLOCK: while the process runs other metering statements, usage's settle
    statement too, but usage then waits for the WAL flush with a second statement, so a settled request
    is durable before usage answers 200."""
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "warm", secret, estimate="0").status_code == 200  # windows started, facts cached
    assert usage(client, "warm", cost="0").status_code == 200
    settle_lsn = []

    def after_settle(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "usage_usageevent" in sql:  # the settle statement: where its commit record ends, at most
            with connection.cursor() as cursor:
                cursor.execute("select pg_current_wal_insert_lsn()")
                settle_lsn.append(cursor.fetchone()[0])
        return result

    authorized = _statements(lambda: authorize(client, "r", secret, estimate="0.05"))
    with connection.execute_wrapper(after_settle), fastpath.IN_FLIGHT:  # as if another thread were metering
        settled = _statements(lambda: usage(client, "r", cost="0.03"))
        with connection.cursor() as cursor:  # read at once, before the WAL writer's own round
            cursor.execute("select pg_current_wal_flush_lsn() >= %s::pg_lsn", [settle_lsn[0]])
            durable = cursor.fetchone()[0]

    assert len(authorized) == 1
    assert ASYNC_COMMIT in authorized[0]
    settled = [sql for sql in settled if "wal_insert_lsn" not in sql]  # not the test's own probe
    assert durable is True
    assert len(settled) == 2
    assert ASYNC_COMMIT in settled[0]
    assert settled[1] == "SELECT pg_logical_emit_message(true,'flowport','')"
    with connection.cursor() as cursor:  # local to that transaction: the session is unchanged
        cursor.execute("show synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    # Alone in the process: one statement, whose commit waits for the flush itself.
    assert authorize(client, "r2", secret).status_code == 200
    alone = _statements(lambda: usage(client, "r2", cost="0.01"))
    assert len(alone) == 1
    assert "synchronous_commit" not in alone[0]
    with (
        override_settings(METERING_ASYNC_RESERVATIONS=False, METERING_EARLY_UNLOCK=False),
        fastpath.IN_FLIGHT,
    ):
        both = _statements(lambda: authorize(client, "r3", secret)) + _statements(
            lambda: usage(client, "r3", cost="0.01")
        )
        assert len(both) == 2
        assert not any("synchronous_commit" in sql for sql in both)


@pytest.mark.postgresql
@pytest.mark.django_db
def test_inside_a_callers_transaction_the_reservation_commits_as_that_transaction_does(user, metered):
    _key, secret = metered
    client = gateway_client()
    assert authorize(client, "warm", secret, estimate="0").status_code == 200  # windows started, facts cached
    assert usage(client, "warm", cost="0").status_code == 200
    assert connection.in_atomic_block  # this test's transaction stands for a caller's

    sent = _statements(lambda: authorize(client, "r", secret, estimate="0.05"))

    assert len(sent) == 1
    assert "synchronous_commit" not in sent[0]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_reservation_lost_in_a_database_crash_bills_nothing_and_charges_nothing_twice(user, metered):
    """What recovery leaves after a crash lost an authorize committed without the WAL flush: nothing of
    it, since a transaction is recovered whole or not at all (its window reservations go with it), and
    any usage that answered 200 flushed the WAL past it. Rolled back here, the same state: usage for that
    request id is 409 `not_authorized` and writes nothing; a new authorize with the id starts afresh."""
    key, secret = metered
    client = gateway_client()
    assert authorize(client, "kept", secret, estimate="0.05").status_code == 200
    assert usage(client, "kept", cost="0.03").status_code == 200
    before = (windows(user), list(UsageEvent.objects.values()), list(ApiKey.objects.values()))

    with pytest.raises(RuntimeError), transaction.atomic():  # the crash: the reservation never lands
        assert authorize(client, "lost", secret, estimate="0.05").status_code == 200
        raise RuntimeError("database crashed before the WAL was flushed")
    lost_usage = usage(client, "lost", cost="0.04")

    assert lost_usage.status_code == 409
    assert lost_usage.json()["error"]["type"] == "not_authorized"
    assert (windows(user), list(UsageEvent.objects.values()), list(ApiKey.objects.values())) == before
    assert not Reservation.objects.filter(request_id="lost").exists()
    assert release(client, "lost").status_code == 409
    assert authorize(client, "lost", secret, estimate="0.05").status_code == 200  # afresh, not a replay
    assert usage(client, "lost", cost="0.04").json()["data"]["flows"] == "4.000000"
    assert windows(user)["five_hour"] == (Decimal("7"), Decimal("0"))
    assert sorted(e.flows for e in UsageEvent.objects.all()) == [Decimal("3"), Decimal("4")]
