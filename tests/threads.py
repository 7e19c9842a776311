"""Run work in threads released at once (a barrier), each with its own database connection."""

import threading

from django.db import connection


def run_together(count: int, work, *, timeout: float = 120) -> list:
    """Call work(index) in `count` threads started together; the results in index order.

    An exception a thread raised is its result (the caller asserts there is none), so a failing thread
    never goes unnoticed and never hangs the others.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int):
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # handed back to the caller
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
