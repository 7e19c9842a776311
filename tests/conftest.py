"""Suite-wide fixtures. PostgreSQL and Redis are required: a missing service fails the run, never skips.

The SQLite tier (`DATABASE_URL=sqlite:///… pytest`, run by `make test`) runs the tests marked `sqlite`.
"""

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.plans.seed import seed_catalog

DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server", "admin_client"}


def _on_sqlite() -> bool:
    return connection.vendor == "sqlite"


def pytest_sessionstart(session):
    db = settings.DATABASES["default"]
    if connection.vendor not in ("postgresql", "sqlite"):
        raise pytest.UsageError(f"The suite runs on PostgreSQL; DATABASE_URL points at {db['ENGINE']}.")
    if _on_sqlite():
        _redis_required()
        return
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
    _redis_required()


def _redis_required() -> None:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        raise pytest.UsageError(
            f"Redis is not reachable at {settings.REDIS_URL} ({error}). See README."
        ) from error


# The SQLite tier: these tests also run on the embedded default (`make test` runs them a second time on a
# SQLite file), so database-specific SQL in metering, the wallet, checkout and refunds cannot land
# unnoticed. A test elsewhere joins with `@pytest.mark.sqlite`.
SQLITE_TIER = (
    "tests/usage/",
    "tests/wallet/",
    "tests/refunds/",
    "tests/extra_usage/",
    "tests/billing/test_sandbox_checkout",
    "tests/api_keys/test_services.py",
    "tests/api_keys/test_concurrent_views.py",
    "tests/plans/test_subscription_concurrency.py",
    "tests/management_api/test_endpoints.py",
    "tests/core/",
    "tests/accounts/test_bootstrap_demo.py",
)


def pytest_collection_modifyitems(config, items):
    """Mark the SQLite tier; on SQLite run only it (PostgreSQL runs every test)."""
    for item in items:
        # `postgresql`: about PostgreSQL-only code (the metering hot path), never in the SQLite tier.
        if item.nodeid.startswith(SQLITE_TIER) and not item.get_closest_marker("postgresql"):
            item.add_marker(pytest.mark.sqlite)
    if not _on_sqlite():
        return
    selected = [item for item in items if item.get_closest_marker("sqlite")]
    deselected = [item for item in items if not item.get_closest_marker("sqlite")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


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
    from tests.helpers import sign_in

    sign_in(client, user)  # just signed in: sensitive actions need no re-authentication
    return client


@pytest.fixture
def staff_client(client):
    """A client signed in as a staff superuser (the Django admin's user); the user is `client.staff`."""
    from tests.accounts.factories import StaffFactory
    from tests.helpers import sign_in

    client.staff = StaffFactory()
    sign_in(client, client.staff)
    return client
