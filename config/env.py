"""Environment access for settings: one place that knows the variable names and defaults."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SQLITE_ENGINE = "django.db.backends.sqlite3"
# Django's SQLite backend with exact decimal results (sums and expressions rounded to the field's places).
EMBEDDED_SQLITE_ENGINE = "apps.core.backends.sqlite3"
# SQLite serving a threaded server (runserver, gunicorn threads) and the scheduler process at once:
# - WAL journal: readers never block the writer, the writer never blocks readers;
# - IMMEDIATE transactions: every transaction takes the write lock when it begins, so two transactions
#   never both read and then try to upgrade to writing (SQLite fails one of them at once with
#   "database is locked"; a busy timeout cannot help there);
# - a busy timeout: a transaction waits up to this many seconds for the write lock instead of failing.
# synchronous stays FULL (SQLite's default): a commit that moved money survives a power loss.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def database(*, default: str) -> dict:
    """DATABASES["default"] from DATABASE_URL; SQLite gets the options above (explicit OPTIONS win)."""
    db = env.db("DATABASE_URL", default=default)
    db["ATOMIC_REQUESTS"] = False  # services own their transactions (ARCHITECTURE)
    if db["ENGINE"] in (SQLITE_ENGINE, EMBEDDED_SQLITE_ENGINE):
        db["ENGINE"] = EMBEDDED_SQLITE_ENGINE
        db["OPTIONS"] = {**SQLITE_OPTIONS, **db.get("OPTIONS", {})}
    return db
