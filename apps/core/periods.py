"""UTC calendar periods for spend limits and caps (issue #22): a day from 00:00, a week from Monday
00:00, a month from the 1st, and "total" (one period that never ends)."""

from datetime import UTC, datetime, timedelta

TOTAL_START = datetime(2000, 1, 1, tzinfo=UTC)


def calendar_period(*, period: str, now: datetime) -> tuple[datetime, datetime | None]:
    """(start, end) of the `day`, `week`, `month` or `total` period containing `now` (end None: total)."""
    if period == "total":
        return TOTAL_START, None
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period != "month":
        raise ValueError(f"unknown period {period!r}")
    start = day.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end
