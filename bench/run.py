"""Metering benchmark (not a test): gunicorn + PostgreSQL + Redis, driven from separate processes.

    make bench                       # defaults below; override with environment variables
    BENCH_WORKERS=8 BENCH_CLIENTS=64 BENCH_SECONDS=20 make bench

Creates (once) BENCH_ACCOUNTS accounts on a benchmark plan with large quotas and RPM, two subscription
keys each, starts gunicorn (BENCH_WORKERS sync workers) on 127.0.0.1:BENCH_PORT and drives
authorize+usage pairs from BENCH_CLIENTS client processes for BENCH_SECONDS, then a trivial endpoint
(a JSON 404 from the same API stack, no database) the same way. Prints pairs/s and p50/p99 per call
and writes the numbers to bench-results.json.
"""

import http.client
import json
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/flowport_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
OUTPUT = Path(os.environ.get("BENCH_OUTPUT", ROOT / "bench-results.json"))
TOKEN = "bench-" + secrets.token_hex(8)
MODEL = "deepseek/deepseek-chat"


def server_env() -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="bench-not-secret",  # noqa: S106 -- a throwaway local server
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL="",
        GATEWAY_TOKEN=TOKEN,
        LOG_LEVEL="WARNING",
    )
    return env


def prepare() -> list[str]:
    """Migrate the benchmark database and make sure the accounts and keys exist; return the secrets."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    env = server_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = f"""
import json
from decimal import Decimal
from apps.accounts.models import User
from apps.api_keys.services import api_key_create, api_key_rotate
from apps.api_keys.models import ApiKey
from apps.plans.models import Plan, Subscription
from apps.plans.seed import seed_catalog
seed_catalog()
plan, _ = Plan.objects.get_or_create(tier="bench", defaults=dict(name="Bench", rank=99, price_usd=Decimal(0),
    quota_5h_flows=Decimal("1e9"), weekly_max_flows=Decimal("1e9"), monthly_max_flows=Decimal("1e9"), rpm=1000000,
    is_public=False))
out = []
for i in range({ACCOUNTS}):
    user = User.objects.filter(email=f"bench{{i}}@bench.local").first() or User.objects.create_user(
        f"bench{{i}}@bench.local", None)
    Subscription.objects.filter(account=user).update(plan=plan)
    keys = list(ApiKey.objects.live().filter(account=user, kind="subscription"))
    while len(keys) < 2:
        keys.append(api_key_create(account=user, kind="subscription", name=f"bench {{len(keys)}}")[0])
    for key in keys[:2]:
        out.append(api_key_rotate(account=user, key_id=key.pk)[1])
print(json.dumps(out))
"""
    result = subprocess.run(  # noqa: S603 -- fixed argv, no shell
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def post(conn_factory, path: str, body: dict) -> tuple[int, float]:
    data = json.dumps(body)
    started = time.perf_counter()
    conn = conn_factory()
    conn.request(
        "POST",
        path,
        body=data,
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
            "Connection": "close",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


def client(args) -> dict:
    index, keys, mode, deadline = args
    factory = lambda: http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)  # noqa: E731
    times: dict[str, list[float]] = {"authorize": [], "usage": [], "trivial": []}
    errors = 0
    n = 0
    while time.time() < deadline:
        n += 1
        if mode == "trivial":
            status, took = post(factory, "/api/v1/bench-trivial", {})
            errors += status != 404
            times["trivial"].append(took)
            continue
        request_id = f"bench-{uuid.uuid4().hex}"
        key = keys[(index + n) % len(keys)]
        status, took = post(
            factory,
            "/api/v1/gateway/authorize",
            {"request_id": request_id, "api_key": key, "model": MODEL, "estimated_cost_usd": "0.01"},
        )
        times["authorize"].append(took)
        if status != 200:
            errors += 1
            continue
        status, took = post(
            factory,
            "/api/v1/gateway/usage",
            {"request_id": request_id, "input_tokens": 1000, "output_tokens": 200, "cost_usd": "0.004"},
        )
        times["usage"].append(took)
        errors += status != 200
    return {"times": times, "errors": errors}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def drive(keys: list[str], mode: str, seconds: float = SECONDS) -> dict:
    deadline = time.time() + seconds
    with multiprocessing.Pool(CLIENTS) as pool:
        results = pool.map(client, [(i, keys, mode, deadline) for i in range(CLIENTS)])
    merged: dict[str, list[float]] = {"authorize": [], "usage": [], "trivial": []}
    for result in results:
        for name, values in result["times"].items():
            merged[name] += values
    summary = {"errors": sum(r["errors"] for r in results), "seconds": seconds}
    for name, values in merged.items():
        if values:
            summary[name] = {
                "count": len(values),
                "p50_ms": round(percentile(values, 0.50), 2),
                "p99_ms": round(percentile(values, 0.99), 2),
                "mean_ms": round(statistics.fmean(values) * 1000, 2),
            }
    if mode == "pairs":
        summary["pairs_per_second"] = round(len(merged["usage"]) / seconds, 1)
    else:
        summary["requests_per_second"] = round(len(merged["trivial"]) / seconds, 1)
    return summary


def main() -> None:
    print(f"Preparing {ACCOUNTS} accounts on {DATABASE_URL} …", flush=True)
    keys = prepare()
    gunicorn = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(),
    )
    try:
        for _ in range(600):
            if gunicorn.poll() is not None:
                raise SystemExit("gunicorn exited; see its output above")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                conn.request("GET", "/api/v1/")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        drive(keys, "pairs", WARMUP_SECONDS)  # warm the workers' connections and caches
        pairs = drive(keys, "pairs")
        trivial = drive(keys, "trivial")
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    result = {
        "workers": WORKERS,
        "clients": CLIENTS,
        "accounts": ACCOUNTS,
        "keys": len(keys),
        "pairs": pairs,
        "trivial": trivial,
    }
    OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"authorize+usage: {pairs['pairs_per_second']} pairs/s  (errors {pairs['errors']})")
    for name in ("authorize", "usage"):
        if name in pairs:
            print(f"  {name:9s} p50 {pairs[name]['p50_ms']} ms  p99 {pairs[name]['p99_ms']} ms")
    print(
        f"trivial endpoint: {trivial['requests_per_second']} req/s  "
        f"p50 {trivial['trivial']['p50_ms']} ms  p99 {trivial['trivial']['p99_ms']} ms"
    )
    print(f"Wrote {OUTPUT}")


if __name__ == "__main__":
    main()
