"""Suite-wide fixtures. PostgreSQL and Redis are required: a missing service fails the run, never skips."""

import psycopg
import pytest
import redis
from django.conf import settings

from apps.plans.seed import seed_catalog

DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server", "admin_client"}


def pytest_sessionstart(session):
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise pytest.UsageError(f"The suite runs on PostgreSQL; DATABASE_URL points at {db['ENGINE']}.")
    try:
        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as error:
        raise pytest.UsageError(f"PostgreSQL is not reachable ({error}). Start it; see README.") from error
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        raise pytest.UsageError(
            f"Redis is not reachable at {settings.REDIS_URL} ({error}). See README."
        ) from error


@pytest.fixture(autouse=True)
def _seeded_catalog(request):
    """Every database test starts with the seeded plans, catalog and Flow rate (seeding is idempotent)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not DB_FIXTURES & set(request.fixturenames):
        return
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    request.getfixturevalue("transactional_db" if transactional else "db")
    seed_catalog()


@pytest.fixture(autouse=True)
def _default_language():
    """A request to a /zh-hans/ page leaves Chinese active in this thread; every test starts in English."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clean_cache(request):
    """Counters kept in the cache (Redis) never leak from one test into the next."""
    from django.core.cache import cache

    from apps.usage.hotcache import metering_cache_reset

    metering_cache_reset()
    yield
    cache.clear()
    metering_cache_reset()


@pytest.fixture
def password():
    return "Flowport-pass-2026!"


@pytest.fixture
def user(db, password):
    from tests.accounts.factories import UserFactory

    return UserFactory(password=password)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client
