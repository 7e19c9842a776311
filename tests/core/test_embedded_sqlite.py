"""The embedded default (SQLite) as `make run` configures it, and decimals that stay exact on it.

These run in both tiers: the configuration on any machine, the decimal results on the database under test.
"""

import sqlite3
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.db.utils import ConnectionHandler

from apps.wallet.models import LedgerEntry, Wallet
from config.env import database

EMBEDDED = {"init_command": "PRAGMA journal_mode=WAL", "transaction_mode": "IMMEDIATE", "timeout": 20}


def test_a_sqlite_url_gets_the_threaded_server_options(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = database(default=f"sqlite:///{tmp_path / 'flowport.sqlite3'}")
    assert (db["ENGINE"], db["NAME"], db["OPTIONS"]) == (
        "apps.core.backends.sqlite3",
        str(tmp_path / "flowport.sqlite3"),
        EMBEDDED,
    )
    assert db["ATOMIC_REQUESTS"] is False


def test_a_postgresql_url_is_left_as_it_is(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://flowport:secret@db.internal:5432/flowport")
    db = database(default="sqlite:///ignored.sqlite3")
    assert (db["ENGINE"], db["HOST"], db["NAME"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        "flowport",
    )
    assert not set(EMBEDDED) & set(db.get("OPTIONS", {}))
    assert db["ATOMIC_REQUESTS"] is False


def test_an_embedded_connection_is_wal_with_a_busy_timeout_and_locks_when_a_transaction_begins(
    monkeypatch, tmp_path, django_db_blocker
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "flowport.sqlite3"
    probe = ConnectionHandler({"default": database(default=f"sqlite:///{path}")})["default"]
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with django_db_blocker.unblock():
        try:
            with probe.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
                cursor.execute("PRAGMA busy_timeout")
                assert cursor.fetchone()[0] == 20_000
            # BEGIN IMMEDIATE takes the write lock at once (a deferred BEGIN takes none), so a writer that
            # cannot wait is refused while the transaction is open, and gets it once it ends.
            probe._start_transaction_under_autocommit()
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
            probe.connection.rollback()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
            probe.close()


@pytest.mark.django_db
def test_sums_of_amounts_are_exact_decimals(user):
    """SQLite adds binary floats (100.1 − 100 − 0.1 = 5.55e-15): the backend returns what PostgreSQL does."""
    wallet, _created = Wallet.objects.get_or_create(account=user)
    rows = [("100.1", "0.2"), ("-100", "0"), ("-0.1", "-0.2")]
    for index, (top_up, bonus) in enumerate(rows):
        LedgerEntry.objects.create(
            wallet=wallet,
            entry_type="adjustment",
            amount=Decimal(top_up) + Decimal(bonus),
            top_up_delta=Decimal(top_up),
            bonus_delta=Decimal(bonus),
            idempotency_key=f"exact:{index}",
        )
    sums = LedgerEntry.objects.filter(wallet=wallet).aggregate(
        total=Sum("amount"),
        top_up=Coalesce(Sum("top_up_delta"), Decimal("0")),
        first_two=Sum("amount", filter=~Q(idempotency_key="exact:2")),
    )
    assert sums == {"total": Decimal("0"), "top_up": Decimal("0"), "first_two": Decimal("0.3")}
    assert {name: str(value) for name, value in sums.items()} == {
        "total": "0.000000",
        "top_up": "0.000000",
        "first_two": "0.300000",
    }


@pytest.mark.django_db
def test_a_ledger_entry_must_equal_the_sum_of_its_deltas_to_the_last_place(user):
    wallet, _created = Wallet.objects.get_or_create(account=user)
    LedgerEntry.objects.create(
        wallet=wallet,
        entry_type="adjustment",
        amount=Decimal("0.3"),
        top_up_delta=Decimal("0.1"),
        bonus_delta=Decimal("0.2"),
        idempotency_key="sum:ok",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=wallet,
            entry_type="adjustment",
            amount=Decimal("0.300001"),
            top_up_delta=Decimal("0.1"),
            bonus_delta=Decimal("0.2"),
            idempotency_key="sum:off-by-one-place",
        )
    assert list(LedgerEntry.objects.values_list("idempotency_key", flat=True)) == ["sum:ok"]
