from celery import shared_task

from apps.usage.services import quota_windows_roll_expired, reservations_release_stale


@shared_task(name="usage.release_stale_reservations")
def release_stale_reservations() -> int:
    return reservations_release_stale()


@shared_task(name="usage.roll_expired_windows")
def roll_expired_windows() -> int:
    return quota_windows_roll_expired()
