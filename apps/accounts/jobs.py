"""Background work account services ask for, without importing the task module (tasks import services).

AccountsConfig.ready() registers the handlers that enqueue the Celery tasks in `apps.accounts.tasks`.
"""

from apps.core.hooks import Hook

# send(account_id=..., ip=...): sign-in was paused after too many failed attempts -> e-mail the owner.
login_lockout_notice_due = Hook("accounts.login_lockout_notice_due")
