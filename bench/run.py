"""Metering benchmark (not a test): gunicorn + PostgreSQL + Redis, driven from separate processes.

    make bench                       # defaults below; override with environment variables
    BENCH_WORKERS=8 BENCH_CLIENTS=64 BENCH_SECONDS=20 make bench

Creates (once) BENCH_ACCOUNTS accounts on a benchmark plan with large quotas and RPM, two subscription
keys each (with a limit of every kind unless BENCH_KEY_LIMITS=0: issue #22), among BENCH_FILLER_ACCOUNTS
idle ones (a deployment's table sizes), starts gunicorn
(BENCH_WORKERS workers of BENCH_THREADS threads, the README's worker class unless BENCH_WORKER_CLASS says
otherwise; BENCH_THREADS=1 = sync workers) on 127.0.0.1:BENCH_PORT and drives authorize+usage pairs from
BENCH_CLIENTS client processes for BENCH_SECONDS, then a trivial endpoint (a JSON 404 from the same API stack, no database)
the same way, in BENCH_ROUNDS alternating slices so both see the same background load; then one client
alone (pairs and trivial, alternating the same way) and BENCH_HOT_CLIENTS clients on one account.
Finally, in one process, it counts the SQL statements of warm authorize and usage calls through a
database execute wrapper and profiles BENCH_PROFILE_PAIRS pairs. Prints the throughput ratio
(metered requests/s over trivial requests/s), the one-client p50s, the hot-account figure, statements
per call and the profile summary, and writes everything to bench-results.json.
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
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # one per core on the 2-core reference machine (README)
THREADS = int(os.environ.get("BENCH_THREADS", "4"))  # >1 = gunicorn thread workers (README); 1 = sync
# The README's worker (gthread with a last-in, first-out thread pool); BENCH_WORKER_CLASS=gthread: gunicorn's own.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "config.gunicorn.ThreadWorker")
HOT_CLIENTS = int(os.environ.get("BENCH_HOT_CLIENTS", "64"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # alternating pairs/trivial slices (drive_interleaved)
ONE_CLIENT_SECONDS = float(os.environ.get("BENCH_ONE_CLIENT_SECONDS", "5"))
PROFILE_PAIRS = int(os.environ.get("BENCH_PROFILE_PAIRS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200"))
FILLER_ACCOUNTS = int(os.environ.get("BENCH_FILLER_ACCOUNTS", "20000"))  # idle accounts (FILLER_SCRIPT)
PORT = int(os.environ.get("BENCH_PORT", "8765"))
OUTPUT = Path(os.environ.get("BENCH_OUTPUT", ROOT / "bench-results.json"))
# Issue #22: the bench keeps its target with a limit of every kind on every bench key (a daily spend limit
# it never reaches, an allow-list with the bench model, an RPM cap); BENCH_KEY_LIMITS=0 clears them.
KEY_LIMITS = os.environ.get("BENCH_KEY_LIMITS", "1") not in ("0", "false", "no", "")
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
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "ERROR"),  # 404s of the trivial endpoint are not logged
    )
    return env


def _saved_keys(name: str) -> list[str] | None:
    """The secrets of the last run against this database, if every one of them is still live there."""
    import hashlib

    import psycopg

    path = ROOT / "var" / f"bench-keys-{name}.json"
    if not path.exists():
        return None
    keys = json.loads(path.read_text())
    if len(keys) != ACCOUNTS * 2:
        return None
    hashes = [hashlib.sha256(key.encode()).hexdigest() for key in keys]
    with psycopg.connect(DATABASE_URL) as conn:
        live = conn.execute(
            "select count(*) from api_keys_apikey where secret_hash = any(%s) and status = 'enabled' "
            "and deleted_at is null",
            [hashes],
        ).fetchone()[0]
    return keys if live == len(keys) else None


# Accounts that never call: each with a subscription, its three windows and a subscription key, inserted
# in bulk (no secrets: their hashes are of nothing anyone holds), so that the tables the metering statements
# read have a deployment's size rather than the bench's 200 accounts.
FILLER_SCRIPT = """
import hashlib
from datetime import timedelta
from django.utils import timezone
from apps.accounts.models import User
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.plans.models import Plan, Subscription
from apps.usage.models import QuotaWindow, WindowKind
target = {target}
have = User.objects.filter(email__endswith="@filler.bench.local").count()
plan = Plan.objects.get(tier="free")
now = timezone.now()
for start in range(have, target, 2000):
    users = User.objects.bulk_create(
        [User(email=f"filler{{i}}@filler.bench.local", password="!") for i in range(start, min(target, start + 2000))]
    )
    Subscription.objects.bulk_create([
        Subscription(account=user, plan=plan, current_period_start=now, current_period_end=now + timedelta(days=30))
        for user in users
    ])
    QuotaWindow.objects.bulk_create([QuotaWindow(account=user, kind=kind) for user in users for kind in WindowKind.values])
    ApiKey.objects.bulk_create([
        ApiKey(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="filler", prefix="sk-ss-v1-", last_four="0000",
               secret_hash=hashlib.sha256(f"filler-{{user.pk}}".encode()).hexdigest())
        for user in users
    ])
"""


def prepare() -> list[str]:
    """Migrate the benchmark database and make sure the accounts and keys exist; return the secrets."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    env = server_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # Every run adds its requests to this database, and a PostgreSQL without autovacuum (the development
    # machine's is off) lets dead row versions pile up from run to run: vacuum and analyze first, so that
    # runs compare and the planner has the statistics autovacuum keeps in a deployment. The database is
    # given a deployment's size first (FILLER_SCRIPT): with only the bench's 200 accounts the planner
    # rightly scans the accounts, subscriptions and windows tables whole, which a real one never does.
    subprocess.run(  # noqa: S603 -- fixed argv, no shell
        [sys.executable, "manage.py", "shell", "-c", FILLER_SCRIPT.format(target=FILLER_ACCOUNTS)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    saved = _saved_keys(name)
    if saved is not None:
        return saved
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
    keys = json.loads(result.stdout.decode().strip().splitlines()[-1])
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / f"bench-keys-{name}.json").write_text(json.dumps(keys))
    return keys


KEY_LIMITS_SCRIPT = """
from decimal import Decimal
from apps.api_keys.models import ApiKey
from apps.api_keys.services import api_key_set_limits
on = {on!r}
for key in ApiKey.objects.live().filter(account__email__endswith="@bench.local", kind="subscription"):
    api_key_set_limits(
        account=key.account,
        key_id=key.pk,
        spend_limit=Decimal("100000000000") if on else None,
        spend_limit_period="day" if on else "",
        allowed_models=[{model!r}] if on else [],
        rpm_limit=1000000 if on else None,
    )
"""


def key_limits_set(on: bool) -> None:
    """Set (or clear) the limits of every bench key; keys that already have them are left alone."""
    subprocess.run(  # noqa: S603 -- fixed argv, no shell
        [sys.executable, "manage.py", "shell", "-c", KEY_LIMITS_SCRIPT.format(on=on, model=MODEL)],
        cwd=ROOT,
        env=server_env(),
        check=True,
    )


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
    offset, keys, mode, deadline = args
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
        key = keys[(offset + n) % len(keys)]
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


def _run(keys: list[str], mode: str, seconds: float, clients: int) -> list[dict]:
    deadline = time.time() + seconds
    if clients == 1:
        return [client((0, keys, mode, deadline))]
    # Each client starts at its own share of the keys, so that together they use every key (and warm
    # every key's facts in every server process) rather than the first hundred or so over and over.
    with multiprocessing.Pool(clients) as pool:
        return pool.map(client, [(i * len(keys) // clients, keys, mode, deadline) for i in range(clients)])


def drive(
    keys: list[str], mode: str, seconds: float = SECONDS, clients: int = CLIENTS, rounds: int = 1
) -> dict:
    """Drive `mode` for `seconds` in total, split into `rounds` runs (see drive_interleaved)."""
    return _summary(
        [r for _ in range(rounds) for r in _run(keys, mode, seconds / rounds, clients)],
        mode,
        seconds,
        clients,
    )


def drive_interleaved(keys: list[str], seconds: float, clients: int) -> tuple[dict, dict]:
    """Pairs and the trivial endpoint in alternating slices (ROUNDS each), so that both see the same
    background load on a shared machine and their ratio is fair; returns (pairs, trivial)."""
    pairs: list[dict] = []
    trivial: list[dict] = []
    for _ in range(ROUNDS):
        pairs += _run(keys, "pairs", seconds / ROUNDS, clients)
        trivial += _run(keys, "trivial", seconds / ROUNDS, clients)
    return _summary(pairs, "pairs", seconds, clients), _summary(trivial, "trivial", seconds, clients)


def _summary(results: list[dict], mode: str, seconds: float, clients: int) -> dict:
    merged: dict[str, list[float]] = {"authorize": [], "usage": [], "trivial": []}
    for result in results:
        for name, values in result["times"].items():
            merged[name] += values
    summary = {"errors": sum(r["errors"] for r in results), "seconds": seconds, "clients": clients}
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


PROFILE_SCRIPT = """
import cProfile, json, pstats, time, uuid
from django.db import connection
from django.test import Client

keys = json.loads({keys!r})
token, model, pairs = {token!r}, {model!r}, {pairs}
client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION="Bearer " + token)
sql = {{"authorize": [], "usage": []}}
sql_seconds = [0.0]
current = [None]

def counting(execute, statement, params, many, context):
    started = time.perf_counter()
    try:
        return execute(statement, params, many, context)
    finally:
        sql_seconds[0] += time.perf_counter() - started
        if current[0] is not None:
            sql[current[0]][-1].append(statement.split(None, 1)[0].upper())

def pair(n, record):
    request_id = "bench-profile-" + uuid.uuid4().hex
    key = keys[n % len(keys)]
    for name, path, body in (
        ("authorize", "/api/v1/gateway/authorize",
         {{"request_id": request_id, "api_key": key, "model": model, "estimated_cost_usd": "0.01"}}),
        ("usage", "/api/v1/gateway/usage",
         {{"request_id": request_id, "input_tokens": 1000, "output_tokens": 200, "cost_usd": "0.004"}}),
    ):
        if record:
            sql[name].append([])
            current[0] = name
        response = client.post(path, body, content_type="application/json")
        current[0] = None
        assert response.status_code == 200, response.content

for n in range(len(keys)):  # warm: every key and account seen once
    pair(n, False)
with connection.execute_wrapper(counting):
    for n in range(50):
        pair(n, True)
    sql_seconds[0] = 0.0
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(pairs):
        pair(n, False)
    profiler.disable()
    total = time.perf_counter() - started
stats = pstats.Stats(profiler)
rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:10]
top = [
    {{"function": f"{{name[0].split('site-packages/')[-1].split('wt-perf/')[-1]}}:{{name[1]}}({{name[2]}})",
      "own_ms_per_pair": round(row[2] / pairs * 1000, 3)}}
    for name, row in rows
]
print(json.dumps({{
    "statements_per_call": {{name: max(len(s) for s in calls) for name, calls in sql.items()}},
    "statements_mean": {{name: round(sum(len(s) for s in calls) / len(calls), 2) for name, calls in sql.items()}},
    "statements_example": {{name: calls[-1] for name, calls in sql.items()}},
    "in_process_ms_per_pair": round(total / pairs * 1000, 3),
    "sql_ms_per_pair": round(sql_seconds[0] / pairs * 1000, 3),
    "top_own_time": top,
}}))
"""


def profile(keys: list[str]) -> dict:
    """Statements per call (a database execute wrapper) and where the time goes, in one process."""
    script = PROFILE_SCRIPT.format(keys=json.dumps(keys[:40]), token=TOKEN, model=MODEL, pairs=PROFILE_PAIRS)
    env = server_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def wait_up(server: subprocess.Popen, port: int) -> None:
    """Wait until the gunicorn just started answers on `port` (at most a minute)."""
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see its output above")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn on :{port} did not answer within a minute")


def main() -> None:
    print(f"Preparing {ACCOUNTS} accounts on {DATABASE_URL} …", flush=True)
    keys = prepare()
    key_limits_set(KEY_LIMITS)
    gunicorn = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(WORKERS),
            *(["-k", WORKER_CLASS, "--threads", str(THREADS)] if THREADS > 1 else []),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(),
    )
    try:
        wait_up(gunicorn, PORT)
        drive(keys, "pairs", WARMUP_SECONDS)  # warm the workers' connections and caches
        pairs, trivial = drive_interleaved(keys, SECONDS, CLIENTS)
        one_pairs, one_trivial = drive_interleaved(keys, ONE_CLIENT_SECONDS, 1)
        hot = drive(keys[:2], "pairs", clients=HOT_CLIENTS)  # one account: its two keys
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    profiled = profile(keys)
    metered = pairs["pairs_per_second"] * 2
    trivial_p50 = one_trivial["trivial"]["p50_ms"]
    result = {
        "workers": WORKERS,
        "threads": THREADS,
        "worker_class": WORKER_CLASS if THREADS > 1 else "sync",
        "clients": CLIENTS,
        "accounts": ACCOUNTS,
        "keys": len(keys),
        "key_limits": KEY_LIMITS,
        "throughput_ratio": round(metered / trivial["requests_per_second"], 3),
        "one_client": {
            "authorize_p50_ms": one_pairs["authorize"]["p50_ms"],
            "usage_p50_ms": one_pairs["usage"]["p50_ms"],
            "trivial_p50_ms": trivial_p50,
            "authorize_over_trivial": round(one_pairs["authorize"]["p50_ms"] / trivial_p50, 2),
            "usage_over_trivial": round(one_pairs["usage"]["p50_ms"] / trivial_p50, 2),
        },
        "hot_account": {
            "clients": HOT_CLIENTS,
            "pairs_per_second": hot["pairs_per_second"],
            "errors": hot["errors"],
            "over_many_accounts": round(hot["pairs_per_second"] / max(pairs["pairs_per_second"], 0.1), 3),
        },
        "statements_per_call": profiled["statements_per_call"],
        "profile": profiled,
        "pairs": pairs,
        "trivial": trivial,
        "one_client_pairs": one_pairs,
        "one_client_trivial": one_trivial,
        "hot": hot,
    }
    OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
    workers = f"{WORKERS} workers" + (f" x {THREADS} threads ({WORKER_CLASS})" if THREADS > 1 else " (sync)")
    limits = "a spend limit, an allow-list and an RPM cap on every key" if KEY_LIMITS else "no key limits"
    print(f"gunicorn {workers}, {CLIENTS} clients, {ACCOUNTS} accounts, {limits}")
    print(
        f"authorize+usage: {pairs['pairs_per_second']} pairs/s = {metered:.1f} metered req/s  (errors {pairs['errors']})"
    )
    for name in ("authorize", "usage"):
        if name in pairs:
            print(f"  {name:9s} p50 {pairs[name]['p50_ms']} ms  p99 {pairs[name]['p99_ms']} ms")
    print(
        f"trivial endpoint: {trivial['requests_per_second']} req/s  "
        f"p50 {trivial['trivial']['p50_ms']} ms  p99 {trivial['trivial']['p99_ms']} ms"
    )
    print(f"THROUGHPUT RATIO metered/trivial: {result['throughput_ratio']:.1%}  (target >= 50%)")
    one = result["one_client"]
    print(
        f"ONE CLIENT p50: authorize {one['authorize_p50_ms']} ms ({one['authorize_over_trivial']}x), "
        f"usage {one['usage_p50_ms']} ms ({one['usage_over_trivial']}x), trivial {trivial_p50} ms  (target <= 2x)"
    )
    hot_figure = result["hot_account"]
    print(
        f"HOT ACCOUNT ({HOT_CLIENTS} clients, one account): {hot_figure['pairs_per_second']} pairs/s = "
        f"{hot_figure['over_many_accounts']:.1%} of many accounts (errors {hot['errors']})  (target >= 50%)"
    )
    print(
        f"STATEMENTS per call (max over 50 warm pairs): authorize {profiled['statements_per_call']['authorize']}, "
        f"usage {profiled['statements_per_call']['usage']}  (target <= 3 each)"
    )
    for name, statements in profiled["statements_example"].items():
        print(f"  {name}: {' '.join(statements)}")
    print(
        f"PROFILE (in-process, {PROFILE_PAIRS} pairs): {profiled['in_process_ms_per_pair']} ms per pair, "
        f"of which SQL {profiled['sql_ms_per_pair']} ms; most own time:"
    )
    for row in profiled["top_own_time"][:6]:
        print(f"  {row['own_ms_per_pair']:7.3f} ms  {row['function']}")
    print(f"Wrote {OUTPUT}")


if __name__ == "__main__":
    main()
