"""Side effects after a commit (e-mails, notices, follow-up jobs) never fail the request that committed.

Services send a jobs hook after their transaction commits (e.g. `apps.wallet.jobs`); the handlers that
enqueue the Celery tasks call `enqueue_safely`, so anything that goes wrong while sending the task (the
broker is down, or, with tasks run eagerly, the task itself raising) is logged, never raised into the
request. Retrying is the task's business (`autoretry_for` on the task): the task system retries it.
"""

import logging

logger = logging.getLogger("flowport.side_effects")


def enqueue_safely(task, *args, **kwargs) -> None:
    """Send a task now; log (never raise) if that fails."""
    try:
        task.delay(*args, **kwargs)
    except Exception:
        logger.exception("Task %s%r failed after the request's changes were committed", task.name, args)
