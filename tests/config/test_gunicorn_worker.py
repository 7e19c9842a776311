"""The README's gunicorn worker (config/gunicorn.py): gthread with a last-in, first-out thread pool, so
that at light load one thread (and its database connection) serves every request (issue #16)."""

import http.client
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config.gunicorn import LifoThreadPool

ROOT = Path(__file__).resolve().parents[2]


def _ident() -> int:
    return threading.get_ident()


def _busy_all(pool: LifoThreadPool, n: int) -> set[int]:
    """Run n tasks at once (each waits for all n to start), so that the pool has n threads."""
    barrier = threading.Barrier(n, timeout=10)

    def task():
        barrier.wait()
        return threading.get_ident()

    return {future.result(timeout=10) for future in [pool.submit(task) for _ in range(n)]}


def _parked(pool: LifoThreadPool, n: int) -> None:
    """Wait until n threads are parked (a task's caller can see its result a moment before that)."""
    deadline = time.monotonic() + 10
    while len(pool._idle) != n:
        assert time.monotonic() < deadline, f"{len(pool._idle)} threads parked, not {n}"
        time.sleep(0.001)


def _one_after_another(pool: LifoThreadPool, threads: int, n: int) -> set[int]:
    idents = set()
    for _ in range(n):
        _parked(pool, threads)
        idents.add(pool.submit(_ident).result(timeout=10))
    return idents


def test_one_thread_serves_sequential_tasks_after_a_burst():
    pool = LifoThreadPool(4)
    burst = _busy_all(pool, 4)
    assert len(burst) == 4  # four threads were needed at once
    sequential = _one_after_another(pool, 4, 50)
    assert len(sequential) == 1
    assert sequential <= burst
    pool.shutdown()


def test_parks_last_in_first_out():
    pool = LifoThreadPool(3)
    _busy_all(pool, 3)
    releases = [threading.Event() for _ in range(3)]

    def hold(event):
        event.wait(10)
        return threading.get_ident()

    _parked(pool, 3)
    held = [pool.submit(hold, event) for event in releases]
    order = []
    for parked, (event, future) in enumerate(zip(releases, held, strict=True), start=1):  # one at a time
        event.set()
        order.append(future.result(timeout=10))
        _parked(pool, parked)
    assert pool.submit(_ident).result(timeout=10) == order[-1]  # the last to finish serves next
    pool.shutdown()


def test_never_more_threads_than_max_and_the_backlog_runs_first_come_first_served():
    pool = LifoThreadPool(2)
    gate = threading.Event()
    running = []
    lock = threading.Lock()
    ran = []

    def blocker():
        with lock:
            running.append(threading.get_ident())
        gate.wait(10)

    def record(n):
        ran.append(n)
        return threading.get_ident()

    blockers = [pool.submit(blocker) for _ in range(2)]
    queued = [pool.submit(record, n) for n in range(5)]
    time.sleep(0.1)
    assert len(running) == 2 and ran == []  # both threads busy, nothing else started
    gate.set()
    idents = {future.result(timeout=10) for future in queued}
    assert [future.result(timeout=10) for future in blockers] == [None, None]
    assert sorted(ran) == [0, 1, 2, 3, 4]
    assert ran[0] in (0, 1) and ran.index(0) < ran.index(2) < ran.index(4)  # oldest first on each thread
    assert idents <= set(running)  # no third thread
    pool.shutdown()


def test_an_exception_reaches_the_future_and_the_thread_carries_on():
    pool = LifoThreadPool(1)

    def fail():
        raise ValueError("boom")

    failed = pool.submit(fail)
    assert isinstance(failed.exception(timeout=10), ValueError)
    assert pool.submit(lambda: 41 + 1).result(timeout=10) == 42
    pool.shutdown()


def test_shutdown_stops_idle_threads_and_refuses_new_work():
    pool = LifoThreadPool(3)
    _busy_all(pool, 3)
    threads = list(pool._threads)
    pool.shutdown(wait=True)
    assert [thread.is_alive() for thread in threads] == [False, False, False]
    with pytest.raises(RuntimeError):
        pool.submit(_ident)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Connection": "close"})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 200
    return body


@pytest.fixture
def gunicorn_server():
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 -- fixed argv
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.config.thread_ident_app",
            "-k",
            "config.gunicorn.ThreadWorker",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            _get(port, "/")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"gunicorn did not start: {server.stderr.read().decode()}") from None
            time.sleep(0.1)
    yield port
    server.terminate()
    server.wait(timeout=30)


def test_gunicorn_serves_light_load_from_one_thread_and_a_burst_from_all(gunicorn_server):
    port = gunicorn_server
    with ThreadPoolExecutor(4) as clients:  # four slow requests at once: four threads
        burst = set(clients.map(lambda _: _get(port, "/?sleep=0.5"), range(4)))
    assert len(burst) == 4
    sequential = set()
    for _ in range(30):  # one client: one thread
        time.sleep(0.02)  # the thread parks a moment after the client has its answer
        sequential.add(_get(port, "/"))
    assert len(sequential) == 1
    assert sequential <= burst
