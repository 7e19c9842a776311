"""One client against two gunicorn servers side by side (not a test): which of two server set-ups answers
the metering API faster at light load, compared under the same background load.

    uv run python bench/side_by_side.py        # after one `make bench` (it uses the bench database and keys)
    SIDE_A="-w 2 -k gthread --threads 4" SIDE_B="-w 1 -k config.gunicorn.ThreadWorker --threads 8" \\
        uv run python bench/side_by_side.py

Starts both servers (SIDE_A and SIDE_B: gunicorn arguments; by default gunicorn's gthread worker and the
README's worker, 2 workers of 4 threads each) on ports 8771 and 8772, warms both with 8 clients for 2 s,
then drives one client (on SIDE_KEYS keys) in SIDE_SLICE-second slices (authorize+usage pairs, then the
trivial endpoint), alternating between the servers SIDE_ROUNDS times, and prints the p50s of every call
and their ratio to the trivial endpoint's. A shared machine's background load moves from minute to
minute; slices this short let both servers see the same load, where two `make bench` runs a minute apart
do not.
"""

import os
import signal
import statistics
import subprocess
import sys
import time

import run as bench  # bench/run.py: the same server environment, keys and client

SETUPS = {
    "A": os.environ.get("SIDE_A", "-w 2 -k gthread --threads 4"),
    "B": os.environ.get("SIDE_B", "-w 2 -k config.gunicorn.ThreadWorker --threads 4"),
}
PORTS = {"A": 8771, "B": 8772}
ROUNDS = int(os.environ.get("SIDE_ROUNDS", "20"))
SLICE = float(os.environ.get("SIDE_SLICE", "0.5"))
KEYS = int(os.environ.get("SIDE_KEYS", "20"))


def main() -> None:
    # A light load's few keys: the warm-up below uses each of them often enough to warm its facts in every
    # server process, so that the comparison is of warm calls (as `make bench`'s one-client phase).
    keys = bench.prepare()[:KEYS]
    servers = {
        name: subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                *args.split(),
                "-b",
                f"127.0.0.1:{PORTS[name]}",
                "--log-level",
                "warning",
            ],
            cwd=bench.ROOT,
            env=bench.server_env(),
        )
        for name, args in SETUPS.items()
    }
    times = {name: {"authorize": [], "usage": [], "trivial": []} for name in SETUPS}
    try:
        for name, server in servers.items():
            bench.wait_up(server, PORTS[name])
            bench.PORT = PORTS[name]
            bench.drive(keys, "pairs", 2, clients=8)  # warm connections and caches
        for round_ in range(ROUNDS):
            for name in SETUPS if round_ % 2 == 0 else reversed(SETUPS):
                bench.PORT = PORTS[name]
                for mode in ("pairs", "trivial"):
                    result = bench.client((0, keys, mode, time.time() + SLICE))
                    for call, values in result["times"].items():
                        times[name][call] += values
    finally:
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
        for server in servers.values():
            server.wait(timeout=30)
    for name, args in SETUPS.items():
        p50 = {call: statistics.median(values) * 1000 for call, values in times[name].items()}
        print(
            f"{name} [{args}]: authorize {p50['authorize']:.3f} ms ({p50['authorize'] / p50['trivial']:.2f}x), "
            f"usage {p50['usage']:.3f} ms ({p50['usage'] / p50['trivial']:.2f}x), trivial {p50['trivial']:.3f} ms"
        )


if __name__ == "__main__":
    main()
