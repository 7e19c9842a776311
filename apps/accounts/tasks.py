"""Account jobs."""

from celery import shared_task

from apps.accounts import services


@shared_task(name="accounts.purge_retained")
def accounts_purge_retained() -> int:
    return services.account_purge_retained()
