"""Test settings: PostgreSQL and Redis on this machine by default (README: how to point elsewhere)."""

from pathlib import Path

from config.env import EMBEDDED_SQLITE_ENGINE, database, env

from .base import *  # noqa: F403

DATABASES = {"default": database(default="postgres://root@127.0.0.1:5432/flowport")}
if DATABASES["default"]["ENGINE"] == EMBEDDED_SQLITE_ENGINE:
    # The SQLite tier (`make test`): a test database file beside DATABASE_URL's, never :memory:, so
    # the threads of the concurrency tests share it the way a threaded server's requests do.
    _name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_name.with_name(f"test_{_name.name}"))}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/1")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STRIPE_SECRET_KEY = ""
PAYMENT_PROVIDER = "sandbox"
STRIPE_MAX_NETWORK_RETRIES = 0  # the local fake answers at once; a retry would only sleep
GATEWAY_TOKEN = "test-gateway-token"  # noqa: S105 -- test settings only
FLOWPORT_DEMO_ACCOUNTS = True
STRIPE_REHEARSAL_POLL_SECONDS = 0  # the fake answers at once
