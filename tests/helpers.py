"""Helpers shared by tests in several apps."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_concurrently(
    work: Callable[[int], T], count: int, *, timeout: float = 120
) -> list[T | BaseException]:
    """Run `work(index)` for index 0..count-1, each in its own thread, released together by a barrier.

    Needs `django_db(transaction=True)`: each thread has its own PostgreSQL connection (closed when it is
    done). Returns what each call returned, or the exception it raised, in index order. A thread still
    running after `timeout` seconds (a deadlock) fails the test.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    stuck = sum(thread.is_alive() for thread in threads)
    assert not stuck, f"{stuck} of {count} threads still running after {timeout}s"
    return results


def raised(results: list) -> list[BaseException]:
    """The exceptions among `run_concurrently`'s results."""
    return [result for result in results if isinstance(result, BaseException)]


def outcome(result) -> object:
    """An `ApplicationError`'s code, or the result itself (any other exception is re-raised)."""
    from apps.core.exceptions import ApplicationError

    if isinstance(result, ApplicationError):
        return result.code
    if isinstance(result, BaseException):
        raise result
    return result


def sign_in(client, user, *, seconds_ago: float = 0) -> None:
    """Sign `user` in as allauth's log-in view does: the session records when they authenticated.

    `force_login` alone records nothing, so a sensitive action (apps/console/decorators.py) would ask
    for re-authentication; `seconds_ago` past the timeout makes the sign-in too old for one.
    """
    import time

    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time() - seconds_ago, "email": user.email}
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
