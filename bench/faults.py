"""Fault mode of the metering benchmark: PostgreSQL restarts and crashes, Redis goes down, under load.

    uv run python bench/faults.py        # after one `make bench` (it copies the bench database)

Starts a throwaway PostgreSQL cluster (initdb + pg_ctl as the `postgres` user, /tmp, port
FAULT_PG_PORT=5499) and its own redis-server (FAULT_REDIS_PORT=6399), never touching the shared ones;
copies the bench database into it (pg_dump | psql, so the bench keys stay valid), starts gunicorn as the
README says, drives authorize+usage pairs from FAULT_CLIENTS processes for FAULT_SECONDS and meanwhile
restarts PostgreSQL (`pg_ctl restart -m fast`), crashes it (`pg_ctl restart -m immediate`: no shutdown
checkpoint, crash recovery on start) and later stops and restarts Redis. Then it checks:

- every failed metered call answered 5xx with the SPEC error body (no HTML, no dropped connection),
  except `usage` answering 409 `not_authorized` for a request authorized in the second before the crash:
  its reservation was committed without waiting for the WAL flush and lost with it (README "Metering
  performance", METERING_ASYNC_RESERVATIONS): it bills nothing;
- every `usage` answered 200 is in PostgreSQL (no settled usage lost), each request id once;
- each account's 5-hour window `used_flows` equals the sum of its events' Flows in that window, its
  `reserved_flows` the sum of its active reservations, and nothing stays reserved for settled requests
  (nothing double-counted, nothing lost half-way);
- the last seconds, after both faults, answer 200 again without restarting the server.

Prints a summary and writes bench-faults.json. Exits 1 if a check fails.
"""

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run as bench  # noqa: E402

PG_PORT = int(os.environ.get("FAULT_PG_PORT", "5499"))
REDIS_PORT = int(os.environ.get("FAULT_REDIS_PORT", "6399"))
PORT = int(os.environ.get("FAULT_PORT", "8510"))
CLIENTS = int(os.environ.get("FAULT_CLIENTS", "16"))
SECONDS = float(os.environ.get("FAULT_SECONDS", "24"))
PG_RESTART_AT, PG_CRASH_AT, REDIS_DOWN_AT, REDIS_UP_AT, CALM_FROM = 4.0, 8.0, 13.0, 16.0, SECONDS - 5
LOST_WINDOW = 2.0  # seconds before the crash in which an authorized reservation may be lost with it
PG_DIR = Path(os.environ.get("FAULT_PG_DIR", "/tmp/flowport-perf-faults-pg"))
SOURCE_URL = bench.DATABASE_URL
DB_NAME = "flowport_faults"
DB_URL = f"postgres://root@127.0.0.1:{PG_PORT}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
OUTPUT = ROOT / "bench-faults.json"


def as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, **kwargs)


def pg_bin(name: str) -> str:
    return str(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))[-1])


def pg_ctl(*args: str) -> None:
    as_postgres(
        pg_bin("pg_ctl"), "-D", str(PG_DIR), "-w", "-l", str(PG_DIR / "log"), *args, capture_output=True
    )


def cluster_start() -> None:
    if PG_DIR.exists():
        subprocess.run(
            ["runuser", "-u", "postgres", "--", pg_bin("pg_ctl"), "-D", str(PG_DIR), "stop"],
            capture_output=True,
        )
        shutil.rmtree(PG_DIR)
    PG_DIR.mkdir(parents=True)
    shutil.chown(PG_DIR, "postgres", "postgres")
    as_postgres(pg_bin("initdb"), "-D", str(PG_DIR), "-U", "root", "--auth=trust", capture_output=True)
    pg_ctl("-o", f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1", "start")
    subprocess.run(
        [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "root", DB_NAME], check=True
    )
    dump = subprocess.Popen([pg_bin("pg_dump"), "--no-owner", SOURCE_URL], stdout=subprocess.PIPE)
    subprocess.run([pg_bin("psql"), "-q", DB_URL], stdin=dump.stdout, check=True, capture_output=True)
    dump.wait()


def redis_start() -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return process


def post(path: str, body: dict) -> tuple[int, dict | None]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={
                "Authorization": f"Bearer {bench.TOKEN}",
                "Content-Type": "application/json",
                "Connection": "close",
            },
        )
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None
    except OSError:
        return 0, None  # no answer at all
    finally:
        conn.close()


def client(args) -> list:
    index, keys, started, deadline = args
    calls = []
    n = 0
    while time.time() < deadline:
        n += 1
        request_id = f"fault-{uuid.uuid4().hex}"
        key = keys[(index + n) % len(keys)]
        at = time.time() - started
        status, body = post(
            "/api/v1/gateway/authorize",
            {"request_id": request_id, "api_key": key, "model": bench.MODEL, "estimated_cost_usd": "0.01"},
        )
        calls.append(("authorize", request_id, at, status, body))
        if status != 200:
            continue
        status, body = post(
            "/api/v1/gateway/usage",
            {"request_id": request_id, "input_tokens": 1000, "output_tokens": 200, "cost_usd": "0.004"},
        )
        calls.append(("usage", request_id, time.time() - started, status, body))
    return calls


def spec_error(body) -> bool:
    return (
        isinstance(body, dict)
        and body.get("success") is False
        and isinstance(body.get("error"), dict)
        and {"code", "type", "message"} <= set(body["error"])
    )


def main() -> None:
    import psycopg

    keys = json.loads((ROOT / "var" / f"bench-keys-{SOURCE_URL.rsplit('/', 1)[1]}.json").read_text())
    print(f"Throwaway PostgreSQL on :{PG_PORT} ({PG_DIR}), redis-server on :{REDIS_PORT} …", flush=True)
    cluster_start()
    redis = redis_start()
    env = bench.server_env()
    env.update(DATABASE_URL=DB_URL, REDIS_URL=REDIS_URL)
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-k",
            bench.WORKER_CLASS,
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    events: list[str] = []
    try:
        for _ in range(600):
            if post("/api/v1/", {})[0]:
                break
            time.sleep(0.1)
        started = time.time()
        deadline = started + SECONDS
        with multiprocessing.Pool(CLIENTS) as pool:
            result = pool.map_async(client, [(i, keys, started, deadline) for i in range(CLIENTS)])
            time.sleep(PG_RESTART_AT)
            events.append(f"{time.time() - started:.1f}s PostgreSQL restart (pg_ctl restart -m fast)")
            pg_ctl("-o", f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1", "restart", "-m", "fast")
            events.append(f"{time.time() - started:.1f}s PostgreSQL back")
            time.sleep(max(0.0, PG_CRASH_AT - (time.time() - started)))
            crashed_at = time.time() - started
            events.append(f"{crashed_at:.1f}s PostgreSQL crash (pg_ctl restart -m immediate)")
            pg_ctl("-o", f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1", "restart", "-m", "immediate")
            recovered_at = time.time() - started
            events.append(f"{recovered_at:.1f}s PostgreSQL back after crash recovery")
            time.sleep(max(0.0, REDIS_DOWN_AT - (time.time() - started)))
            redis.send_signal(signal.SIGTERM)
            redis.wait()
            events.append(f"{time.time() - started:.1f}s Redis stopped")
            time.sleep(max(0.0, REDIS_UP_AT - (time.time() - started)))
            redis = redis_start()
            events.append(f"{time.time() - started:.1f}s Redis started (empty)")
            calls = [call for calls in result.get() for call in calls]
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    try:
        with psycopg.connect(DB_URL) as conn:
            stored = dict(
                conn.execute(
                    "select request_id, count(*) from usage_usageevent where request_id like 'fault-%%' group by 1"
                ).fetchall()
            )
            mismatched = conn.execute("""
                select w.account_id, w.used_flows, coalesce(sum(e.flows), 0)
                from usage_quotawindow w left join usage_usageevent e
                  on e.account_id = w.account_id and e.created_at >= w.started_at and e.billed_to = 'subscription'
                where w.kind = 'five_hour' and w.started_at is not null
                group by w.id having w.used_flows <> coalesce(sum(e.flows), 0)""").fetchall()
            stuck = conn.execute("""
                select count(*) from usage_reservation r join usage_usageevent e using (request_id)
                where r.status <> 'settled'""").fetchone()[0]
            reserved_mismatched = conn.execute("""
                select w.account_id, w.reserved_flows, coalesce(sum(r.reserved_flows), 0)
                from usage_quotawindow w left join usage_reservation r
                  on r.account_id = w.account_id and r.status = 'active'
                  and r.five_hour_started_at = w.started_at and r.decision = 'subscription'
                where w.kind = 'five_hour' and w.started_at is not null
                group by w.id having w.reserved_flows <> coalesce(sum(r.reserved_flows), 0)""").fetchall()
            fault_reservations = {
                row[0]
                for row in conn.execute(
                    "select request_id from usage_reservation where request_id like 'fault-%%'"
                ).fetchall()
            }
    finally:
        redis.send_signal(signal.SIGTERM)
        redis.wait()
        pg_ctl("stop", "-m", "fast")
        shutil.rmtree(PG_DIR, ignore_errors=True)

    authorized_at = {
        request_id: at for name, request_id, at, status, _b in calls if name == "authorize" and status == 200
    }
    by_outcome: dict[str, int] = {}
    bad_bodies = []
    lost_reservations = []
    for name, request_id, _at, status, body in calls:
        label = f"{name} {status}" + (
            f" {body['error']['type']}" if status != 200 and spec_error(body) else ""
        )
        by_outcome[label] = by_outcome.get(label, 0) + 1
        if (
            name == "usage"
            and status == 409
            and spec_error(body)
            and body["error"]["type"] == "not_authorized"
            and crashed_at - LOST_WINDOW <= authorized_at[request_id] <= recovered_at
            and request_id not in fault_reservations
        ):
            lost_reservations.append(request_id)  # authorized just before the crash, lost with it
        elif status != 200 and (status < 500 or not spec_error(body)):
            bad_bodies.append((name, status, body))
    usage_ok = {
        request_id for name, request_id, _at, status, _b in calls if name == "usage" and status == 200
    }
    lost = sorted(usage_ok - set(stored))
    doubled = sorted(request_id for request_id, count in stored.items() if count != 1)
    calm = [status for _n, _r, at, status, _b in calls if at >= CALM_FROM]
    redis_down = [status for _n, _r, at, status, _b in calls if REDIS_DOWN_AT + 0.5 <= at < REDIS_UP_AT]
    checks = {
        "failed calls answered 5xx with the SPEC error body": not bad_bodies,
        "no usage answered 200 is missing from PostgreSQL": not lost,
        "no request settled twice": not doubled,
        "5-hour windows' used equals the sum of their events": not mismatched,
        "5-hour windows' reserved equals the sum of their active reservations": not reserved_mismatched,
        "no settled request left reserved": stuck == 0,
        f"recovered: every call after {CALM_FROM:.0f}s answered 200": bool(calm)
        and all(s == 200 for s in calm),
        f"Redis down: all {len(redis_down)} calls answered 200 (RPM fails open)": bool(redis_down)
        and all(s == 200 for s in redis_down),
    }
    report = {
        "events": events,
        "outcomes": by_outcome,
        "usage_200": len(usage_ok),
        "events_stored": len(stored),
        "lost": lost[:10],
        "doubled": doubled[:10],
        "window_mismatches": len(mismatched),
        "reserved_mismatches": len(reserved_mismatched),
        "reservations_lost_in_crash": len(lost_reservations),
        "bad_bodies": [str(b)[:300] for b in bad_bodies[:5]],
        "checks": checks,
    }
    OUTPUT.write_text(json.dumps(report, indent=2) + "\n")
    for line in events:
        print("  " + line)
    for label, count in sorted(by_outcome.items()):
        print(f"  {label:45s} {count}")
    print(
        f"  usage answered 200: {len(usage_ok)}; usage events stored: {len(stored)} "
        "(more stored than answered = a commit whose answer was lost in the restart; retried, it is a replay)"
    )
    print(
        f"  reservations lost with the crash (authorized < {LOST_WINDOW:.0f} s before it; usage 409 "
        f"not_authorized, nothing billed): {len(lost_reservations)}"
    )
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(f"Wrote {OUTPUT}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
