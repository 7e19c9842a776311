"""The usage export streams a 100,000-row range: a StreamingHttpResponse read chunk by chunk, rows
fetched from one server-side cursor in batches of exports.CHUNK_SIZE, never all at once.
(`bench/exports_memory.py` measures the peak memory of the same download.)"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models.sql import compiler
from django.http import StreamingHttpResponse

from apps.console import exports
from apps.plans.models import CatalogModel
from apps.usage.models import UsageEvent
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db

ROWS = 100_000


def insert_usage_events(*, account, key, model, count: int, start: datetime) -> None:
    """`count` events, one a second from `start`, in one INSERT … SELECT (PostgreSQL's generate_series)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {UsageEvent._meta.db_table}
                (request_id, account_id, api_key_id, model_id, input_tokens, output_tokens, cost_usd, flows,
                 billed_to, extra_usage, created_at)
            SELECT 'bulk-' || n, %s, %s, %s, n, 2 * n, 0.000001, 0.000002, 'subscription', false,
                   %s + n * interval '1 second'
            FROM generate_series(0, %s - 1) AS n
            """,  # noqa: S608 -- the table name is the model's, the values are parameters
            [account.pk, key.pk, model.pk, start, count],
        )


def test_a_100k_row_export_streams_in_bounded_batches(
    user, user_client, monkeypatch, django_assert_max_num_queries
):
    key, _ = make_key(account=user)
    model = CatalogModel.objects.get(slug="deepseek/deepseek-chat")
    insert_usage_events(
        account=user, key=key, model=model, count=ROWS, start=datetime(2026, 1, 1, tzinfo=UTC)
    )
    batches: list[int] = []
    real_cursor_iter = compiler.cursor_iter

    def counting_cursor_iter(cursor, sentinel, col_count, itersize):
        for rows in real_cursor_iter(cursor, sentinel, col_count, itersize):
            batches.append(len(rows))
            yield rows

    monkeypatch.setattr(compiler, "cursor_iter", counting_cursor_iter)

    response = user_client.get("/console/usage/export.csv?start=2026-01-01&end=2026-01-31")

    assert isinstance(response, StreamingHttpResponse)
    batches.clear()  # the request's own queries (session, user): not the export
    chunks = iter(response.streaming_content)
    assert next(chunks).decode().startswith("request_id,created_at,")
    assert batches == []  # nothing fetched before the first row is asked for
    with django_assert_max_num_queries(1):  # one server-side cursor for all 100,000 rows
        first_rows = [next(chunks) for _ in range(10)]
        assert batches == [exports.CHUNK_SIZE]  # only the first batch is in memory
        line_count, size = 10, sum(len(c) for c in first_rows)
        for chunk in chunks:
            line_count += chunk.count(b"\n")
            size += len(chunk)
    assert line_count == ROWS
    assert first_rows[0].decode().startswith("bulk-99999,2026-01-02T03:46:39+00:00,")
    assert len(batches) == ROWS // exports.CHUNK_SIZE
    assert set(batches) == {exports.CHUNK_SIZE}
    assert size > 5_000_000  # a real download, not a truncated one
