"""The two tables every inference request writes carry only the indexes something reads (Reservation's
docstring), and migration usage/0005 gets an existing PostgreSQL database there in place."""

import importlib

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]  # PostgreSQL's index names and SQL
migration = importlib.import_module("apps.usage.migrations.0005_lean_indexes")
TABLES = ("usage_reservation", "usage_usageevent")
# What each table is read by: the primary key, the request id (unique), the stale-reservation and
# client-IP retention jobs, the foreign keys, per-account and per-key history, the anomaly signals.
INDEXES = {
    "usage_reservation": {
        "reservation_active_created": ["created_at"],
        "reservation_billed_key": ["billed_key_id"],
        "reservation_client_ip_created": ["created_at"],
        "reservation_request_id_unique": ["request_id"],
        "usage_reservation_account_id_b2f55edd": ["account_id"],
        "usage_reservation_api_key_id_aa4e4ea0": ["api_key_id"],
        "usage_reservation_model_id_56df5aa9": ["model_id"],
        "usage_reservation_pkey": ["id"],
    },
    "usage_usageevent": {
        "usage_event_account_created": ["account_id", "created_at"],
        "usage_event_billed_key": ["billed_key_id"],
        "usage_event_created": ["created_at"],
        "usage_event_key_created": ["api_key_id", "created_at"],
        "usage_event_request_id_unique": ["request_id"],
        "usage_usageevent_model_id_15245768": ["model_id"],
        "usage_usageevent_pkey": ["id"],
    },
}


def indexes() -> dict:
    with connection.cursor() as cursor:
        return {
            table: {
                name: info["columns"]
                for name, info in connection.introspection.get_constraints(cursor, table).items()
                if info["index"] or info["unique"] and not info["foreign_key"]
            }
            for table in TABLES
        }


def schema() -> dict:
    with connection.cursor() as cursor:
        return {table: connection.introspection.get_constraints(cursor, table) for table in TABLES}


def test_the_metered_tables_carry_only_the_indexes_something_reads():
    assert indexes() == INDEXES


def test_the_in_place_postgresql_migration_lands_on_the_models_schema():
    from_models = schema()

    with connection.cursor() as cursor:
        cursor.execute(migration.POSTGRESQL_BACKWARDS)
    before = indexes()
    with connection.cursor() as cursor:
        cursor.execute(migration.POSTGRESQL_FORWARDS)

    assert schema() == from_models
    # Backwards is the schema 0004 left: Django's unique=True constraint with its pattern index, and an
    # index per foreign key.
    assert before["usage_reservation"]["usage_reservation_request_id_key"] == ["request_id"]
    assert before["usage_reservation"]["usage_reservation_request_id_b4ee560f_like"] == ["request_id"]
    assert before["usage_usageevent"]["usage_usageevent_account_id_d5c6f58a"] == ["account_id"]
    assert len(before["usage_reservation"]) == 9 and len(before["usage_usageevent"]) == 10
