from celery import shared_task

from apps.usage.services import client_ips_clear, quota_windows_roll_expired, reservations_release_stale


@shared_task(name="usage.release_stale_reservations")
def release_stale_reservations() -> int:
    return reservations_release_stale()


@shared_task(name="usage.roll_expired_windows")
def roll_expired_windows() -> int:
    return quota_windows_roll_expired()


@shared_task(name="usage.clear_client_ips")
def clear_client_ips() -> int:
    return client_ips_clear()
