from datetime import UTC, datetime, timedelta

import pytest

from apps.usage.rpm import rpm_acquire, rpm_reset, rpm_undo

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["redis", "memory"])
def backend(request, settings):
    if request.param == "memory":
        settings.REDIS_URL = ""
        rpm_reset()
    else:
        from django.core.cache import cache

        cache.clear()
    return request.param


def test_sliding_minute(backend):
    account_id = 987_654
    assert rpm_acquire(account_id=account_id, limit=2, now=T0).remaining == 1
    second = rpm_acquire(account_id=account_id, limit=2, now=T0 + timedelta(seconds=20))
    assert (second.admitted, second.remaining) == (True, 0)
    refused = rpm_acquire(account_id=account_id, limit=2, now=T0 + timedelta(seconds=30))
    assert (refused.admitted, refused.retry_after) == (False, 30)  # the first entry leaves at T0 + 60 s
    # At T0 + 60 s the first entry has left the window; the second (T0 + 20 s) is still in it.
    third = rpm_acquire(account_id=account_id, limit=2, now=T0 + timedelta(seconds=60))
    assert (third.admitted, third.remaining) == (True, 0)
    refused = rpm_acquire(account_id=account_id, limit=2, now=T0 + timedelta(seconds=61))
    assert (refused.admitted, refused.retry_after) == (False, 19)


def test_undo_gives_the_slot_back(backend):
    account_id = 987_655
    taken = rpm_acquire(account_id=account_id, limit=1, now=T0)
    assert not rpm_acquire(account_id=account_id, limit=1, now=T0).admitted
    rpm_undo(account_id=account_id, result=taken)
    assert rpm_acquire(account_id=account_id, limit=1, now=T0).admitted
