"""Side effects after a commit (e-mails, notices, follow-up jobs) never fail the request that committed.

Enqueue them with `enqueue_on_commit`: the task is sent once the transaction commits, and anything that
goes wrong while sending it (the broker is down, or, with tasks run eagerly, the task itself raising
after its own retries) is logged, never raised into the caller. Retrying is the task's business
(`autoretry_for` on the task), so a failure is retried by the task system, not by the request.
"""

import logging

from django.db import transaction

logger = logging.getLogger("flowport.side_effects")


def enqueue_safely(task, *args, **kwargs) -> None:
    """Send a task now; log (never raise) if that fails."""
    try:
        task.delay(*args, **kwargs)
    except Exception:
        logger.exception("Task %s%r failed after the request's changes were committed", task.name, args)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send a task once the current transaction commits (at once outside one); failures are logged."""
    transaction.on_commit(lambda: enqueue_safely(task, *args, **kwargs))
