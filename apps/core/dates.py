import calendar
from datetime import datetime


def add_months(moment: datetime, months: int = 1) -> datetime:
    """Same day and time `months` later, clamped to the month's last day (Jan 31 → Feb 28/29)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
