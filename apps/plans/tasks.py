"""Periodic subscription jobs (CELERY_BEAT_SCHEDULE). Idempotent, safe to run late or twice."""

from celery import shared_task

from apps.plans.services import subscription_expire_grace, subscription_renew_due


@shared_task(name="plans.subscriptions_renew_due")
def subscriptions_renew_due() -> int:
    return subscription_renew_due()


@shared_task(name="plans.subscriptions_expire_grace")
def subscriptions_expire_grace() -> int:
    return subscription_expire_grace()
