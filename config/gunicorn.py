"""The gunicorn worker class the README recommends: `-k config.gunicorn.ThreadWorker`.

It is gunicorn's gthread worker with one change (issue #16): a request goes to the thread that finished
most recently, not to whichever idle thread the operating system wakes.
gthread's pool (`concurrent.futures.ThreadPoolExecutor`) hands requests to its idle threads in turn, so
with four threads each one, and each one's database connection and PostgreSQL backend process, serves
every fourth request and is cold again by then. Here, at light load, one thread serves every request;
under load every thread is busy either way and requests queue first come, first served, as in gthread.
On the reference 2-core machine, side by side with gthread (`bench/side_by_side.py`, 2 workers of 4
threads), one-client authorize and usage were 0.15 to 0.3 ms faster; `make bench`'s throughput and hot
account did not change beyond their noise.
"""

import collections
import threading
from concurrent.futures import Future

from gunicorn.workers import gthread


class _Idle:
    """A parked thread: woken with its next task (None: the pool shut down)."""

    __slots__ = ("task", "wake")

    def __init__(self):
        self.wake = threading.Event()
        self.task = None


class LifoThreadPool:
    """At most `max_workers` threads; an idle thread is reused last in, first out. The part of
    `concurrent.futures.Executor` that gunicorn uses: `submit` (returns a Future) and `shutdown`."""

    def __init__(self, max_workers: int):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._idle: list[_Idle] = []  # a stack: the most recently parked thread last
        self._backlog: collections.deque = collections.deque()  # tasks waiting for a thread, oldest first
        self._threads: list[threading.Thread] = []
        self._shut_down = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        task = (future, fn, args, kwargs)
        with self._lock:
            if self._shut_down:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._idle:
                idle = self._idle.pop()
                idle.task = task
                idle.wake.set()
            elif len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work, args=(task,), name=f"lifo-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._backlog.append(task)
        return future

    def _work(self, task) -> None:
        idle = _Idle()
        while task is not None:
            future, fn, args, kwargs = task
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # noqa: BLE001 -- as ThreadPoolExecutor: the future carries it
                    future.set_exception(error)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs, task  # drop references before parking
            with self._lock:
                if self._backlog:
                    task = self._backlog.popleft()
                    continue
                if self._shut_down:
                    return
                idle.wake.clear()
                idle.task = None
                self._idle.append(idle)
            idle.wake.wait()
            task = idle.task

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut_down = True
            if cancel_futures:
                while self._backlog:
                    self._backlog.popleft()[0].cancel()
            for idle in self._idle:
                idle.task = None
                idle.wake.set()
            self._idle.clear()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker with the last-in, first-out pool above."""

    def get_thread_pool(self):
        return LifoThreadPool(self.cfg.threads)
