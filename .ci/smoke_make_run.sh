#!/usr/bin/env bash
# The README's own path: start `make run` in this checkout exactly as the README says (SQLite under var/,
# no broker, no Redis), wait until it serves (bounded), check it from outside over HTTP
# (.ci/smoke_http.py), then stop it: the whole process group, the scheduler included.
# Safe to run again on the same checkout (make run reuses var/; the checks create and delete their keys).
# Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=http://127.0.0.1:8000 # the address the README gives
WAIT_SECONDS=${SMOKE_WAIT_SECONDS:-900} # a fresh checkout migrates first (dj-stripe's migrations are slow)
LOG=$(mktemp -t flowport-make-run.XXXXXX)

# Exactly the README's environment: nothing that points make run at another database, cache or broker.
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL DJANGO_SETTINGS_MODULE GATEWAY_TOKEN STRIPE_SECRET_KEY

if curl -s -o /dev/null --max-time 2 "$BASE/"; then
  echo "smoke: something already listens on $BASE; stop it first" >&2
  exit 1
fi

# `set -m`: make run gets its own process group, so stopping it stops everything it started.
set -m
make run >"$LOG" 2>&1 &
group=$!
set +m

stop() {
  kill -TERM -- "-$group" 2>/dev/null || true
  for _ in $(seq 1 20); do
    pgrep -g "$group" >/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$group" 2>/dev/null || true
}
fail() {
  echo "smoke: $*" >&2
  echo "--- make run (last 60 lines of $LOG)" >&2
  tail -n 60 "$LOG" >&2
  exit 1
}
trap stop EXIT

started=$(date +%s)
until [ "$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$BASE/pricing/")" = 200 ]; do
  kill -0 "$group" 2>/dev/null || fail "make run exited before serving a page"
  [ $(($(date +%s) - started)) -lt "$WAIT_SECONDS" ] || fail "no page within ${WAIT_SECONDS}s"
  sleep 1
done
echo "smoke: make run served its first page after $(($(date +%s) - started))s"

python3 .ci/smoke_http.py "$LOG" || fail "the HTTP checks failed"

# Nothing went wrong on the server's side either: no traceback, no 500, no failed scheduler job.
! grep -nE 'Traceback|" 5[0-9][0-9] [0-9]|^[a-z-]+ failed: ' "$LOG" || fail "errors in the make run output"

stop
trap - EXIT
if pgrep -g "$group" >/dev/null || curl -s -o /dev/null --max-time 2 "$BASE/"; then
  fail "make run is still running after the stop"
fi
rm -f "$LOG"
echo "smoke: make run stopped; OK"
