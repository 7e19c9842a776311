"""CSV exports (SPEC §15): stable, documented columns, streamed row by row so memory stays flat.

Conventions for every export: English headers (they are an interface, never translated), times in UTC
ISO 8601 (`2026-01-31T09:05:00.123456+00:00`), amounts as plain decimals at the column's precision
(`0.250000`, never exponent notation), booleans as `true`/`false`, an empty cell for no value. Text a
user typed (key names, descriptions) that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
so spreadsheets do not run it as a formula.

Columns, in order:

usage events: request_id, created_at, model, api_key_id, api_key_name, billed_to, extra_usage,
    billed_key_id, input_tokens, output_tokens, flows, cost_usd
billing history: payment_id, created_at, paid_at, type, description, amount_usd, refunded_usd, status,
    receipt_number
wallet transactions: created_at, type, amount_usd, top_up_delta_usd, bonus_delta_usd, arrears_delta_usd,
    description, payment_id
"""

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse

CHUNK_SIZE = 2000  # rows fetched per round trip from the database cursor
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def _decimal(value: Decimal | None) -> str:
    return format(value, "f") if value is not None else ""


def _text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _bool(value: bool) -> str:
    return "true" if value else "false"


Column = tuple[str, Callable]

USAGE_EVENT_COLUMNS: list[Column] = [
    ("request_id", lambda e: _text(e.request_id)),
    ("created_at", lambda e: _time(e.created_at)),
    ("model", lambda e: _text(e.model.slug)),
    ("api_key_id", lambda e: str(e.api_key_id)),
    ("api_key_name", lambda e: _text(e.api_key.name)),
    ("billed_to", lambda e: e.billed_to),
    ("extra_usage", lambda e: _bool(e.extra_usage)),
    ("billed_key_id", lambda e: "" if e.billed_key_id is None else str(e.billed_key_id)),
    ("input_tokens", lambda e: str(e.input_tokens)),
    ("output_tokens", lambda e: str(e.output_tokens)),
    ("flows", lambda e: _decimal(e.flows)),
    ("cost_usd", lambda e: _decimal(e.cost_usd)),
]

PAYMENT_COLUMNS: list[Column] = [
    ("payment_id", lambda p: str(p.public_id)),
    ("created_at", lambda p: _time(p.created_at)),
    ("paid_at", lambda p: _time(p.paid_at)),
    ("type", lambda p: p.purpose),
    ("description", lambda p: _text(p.description)),
    ("amount_usd", lambda p: _decimal(p.amount_usd)),
    ("refunded_usd", lambda p: _decimal(p.refunded_usd)),
    ("status", lambda p: p.status),
    ("receipt_number", lambda p: _text(p.receipt_number)),
]

LEDGER_COLUMNS: list[Column] = [
    ("created_at", lambda e: _time(e.created_at)),
    ("type", lambda e: e.entry_type),
    ("amount_usd", lambda e: _decimal(e.amount)),
    ("top_up_delta_usd", lambda e: _decimal(e.top_up_delta)),
    ("bonus_delta_usd", lambda e: _decimal(e.bonus_delta)),
    ("arrears_delta_usd", lambda e: _decimal(e.arrears_delta)),
    ("description", lambda e: _text(e.description)),
    ("payment_id", lambda e: str(e.payment.public_id) if e.payment_id else ""),
]


class _Echo:
    """A file-like object whose write() hands the line back (csv.writer needs a file)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(objects: Iterable, columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow([name for name, _ in columns])
    for obj in objects:
        yield writer.writerow([cell(obj) for _, cell in columns])


def csv_response(*, queryset, columns: list[Column], filename: str) -> StreamingHttpResponse:
    """Stream `queryset` (fetched with a database cursor, CHUNK_SIZE rows at a time) as a CSV download."""
    response = StreamingHttpResponse(
        csv_rows(queryset.iterator(chunk_size=CHUNK_SIZE), columns), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
