"""Peak memory of a 100,000-row usage CSV export (a figure, not a test).

    make bench-exports                          # BENCH_EXPORT_ROWS=100000 by default

Migrates its own database (BENCH_EXPORTS_DATABASE_URL, default flowport_bench_exports), makes sure one
account has BENCH_EXPORT_ROWS usage events in January 2026, then, in this process, downloads
/console/usage/export.csv for that month through Django's test client (production settings, so no
query log) and reads the streamed body chunk by chunk. It prints the Python heap peak (tracemalloc)
while streaming, next to the peak of simply loading the same rows as model instances, which is what a
non-streaming export would at least hold.
"""

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_EXPORTS_DATABASE_URL", "postgres://root@127.0.0.1:5432/flowport_bench_exports"
)
ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
EMAIL = "exports-bench@bench.local"


def settings_env() -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="bench-not-secret",  # noqa: S106 -- a throwaway local process
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL="",
        CELERY_BROKER_URL="",
        LOG_LEVEL="ERROR",
    )
    return env


def prepare() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=settings_env(), check=True)  # noqa: S603


def mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def main() -> None:
    prepare()
    os.environ.update(settings_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import User
    from apps.api_keys.models import ApiKey
    from apps.api_keys.services import api_key_create
    from apps.plans.models import CatalogModel
    from apps.plans.seed import seed_catalog
    from apps.usage.models import UsageEvent

    seed_catalog()
    user = User.objects.filter(email=EMAIL).first() or User.objects.create_user(EMAIL, None)
    key = (
        ApiKey.objects.live().filter(account=user).first()
        or api_key_create(account=user, kind="subscription", name="bench")[0]
    )
    model = CatalogModel.objects.get(slug="deepseek/deepseek-chat")
    have = UsageEvent.objects.filter(account=user).count()
    if have != ROWS:
        UsageEvent.objects.filter(account=user).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {UsageEvent._meta.db_table}
                    (request_id, account_id, api_key_id, model_id, input_tokens, output_tokens, cost_usd,
                     flows, billed_to, extra_usage, created_at)
                SELECT 'exports-bench-' || n, %s, %s, %s, n, 2 * n, 0.000420, 0.016632, 'subscription',
                       false, timestamptz '2026-01-01 00:00:00+00' + n * interval '20 seconds'
                FROM generate_series(0, %s - 1) AS n
                """,  # noqa: S608 -- the table name is the model's, the values are parameters
                [user.pk, key.pk, model.pk, ROWS],
            )
    client = Client()
    client.force_login(user)

    def stream(query: str) -> tuple[int, int, int, float, int]:
        """Download one export chunk by chunk: rows, bytes, chunks, seconds, peak traced heap."""
        tracemalloc.reset_peak()
        started = time.perf_counter()
        response = client.get(f"/console/usage/export.csv?{query}", secure=True)
        size = lines = chunks = 0
        for chunk in response.streaming_content:
            chunks += 1
            size += len(chunk)
            lines += chunk.count(b"\n")
        return lines - 1, size, chunks, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]

    # Warm up first (URL conf, templates, lazy imports), so the peaks below are the downloads' own.
    client.get("/console/usage/export.csv?start=2025-01-01&end=2025-01-01", secure=True)
    tracemalloc.start()
    small = stream("start=2026-01-01&end=2026-01-01")
    large = stream("start=2026-01-01&end=2026-01-31")
    tracemalloc.reset_peak()
    loaded = list(UsageEvent.objects.filter(account=user))
    loaded_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    for label, (rows, size, chunks, seconds, peak) in (("one day", small), ("the month", large)):
        print(
            f"usage export, {label}: {rows:,} rows, {size / 2**20:.1f} MiB of CSV in {chunks:,} chunks, "
            f"{seconds:.1f} s (under tracemalloc); peak Python heap {mib(peak)}"
        )
    print(f"for comparison, loading the {len(loaded):,} rows as model instances: peak {mib(loaded_peak)}")


if __name__ == "__main__":
    main()
