"""Concurrent runs of the anomaly job (PostgreSQL, threads): one conditional UPDATE raises an account once."""

import pytest

from apps.abuse.services import anomalies_detect
from apps.accounts.models import AccountStatus
from tests.abuse.test_job import pooled_key, status_events, thresholds
from tests.abuse.traffic import NOW
from tests.accounts.factories import UserFactory
from tests.helpers import run_concurrently


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@thresholds()
def test_two_runs_at_once_raise_the_account_once():
    account = UserFactory()
    pooled_key(account, 4)
    results = run_concurrently(lambda _index: anomalies_detect(now=NOW), 4)
    assert sorted(len(result) for result in results) == [0, 0, 0, 1], results
    account.refresh_from_db()
    assert account.status == AccountStatus.MONITORED
    assert len(status_events(account)) == 1
