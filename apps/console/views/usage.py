"""/console/usage/: analytics over a chosen range (SPEC §12), split by subscription, pay-as-you-go and
Extra Usage. Read-only; the range comes from a validated GET form (default: the last 7 days)."""

from datetime import UTC, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.console.forms.usage import MAX_RANGE_DAYS, UsageDateRangeForm
from apps.plans.selectors import subscription_get_for_account
from apps.usage.analytics import UsageRow, usage_breakdown, usage_days

DEFAULT_DAYS = 7
COUNTS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "subscription_requests",
    "payg_requests",
    "extra_requests",
)
AMOUNTS = ("flows", "subscription_usd", "payg_usd", "extra_usd")


def _with_empty_days(rows: list[UsageRow], days) -> list[UsageRow]:
    """One row per day of the range (days without requests show as zero)."""
    by_day = {row.group: row for row in rows}
    empty = dict.fromkeys(COUNTS, 0) | dict.fromkeys(AMOUNTS, 0)
    return [by_day.get(day) or UsageRow(label=day.isoformat(), group=day, **empty) for day in days]


def chosen_days(form: UsageDateRangeForm):
    """The chosen UTC days (both inclusive); missing ends default to the last 7 days."""
    today = timezone.now().date()
    data = form.cleaned_data if form.is_bound else {}
    end_day = data.get("end")
    start_day = data.get("start") or (end_day or today) - timedelta(days=DEFAULT_DAYS - 1)
    end_day = end_day or max(start_day, today)
    start_day = max(start_day, end_day - timedelta(days=MAX_RANGE_DAYS))
    return start_day, end_day


@login_required
def usage_page(request):
    form = UsageDateRangeForm(request.GET or None)
    breakdown, days = None, None
    if not form.is_bound or form.is_valid():
        start_day, end_day = chosen_days(form)
        start = datetime.combine(start_day, time.min, tzinfo=UTC)
        end = datetime.combine(end_day, time.min, tzinfo=UTC) + timedelta(days=1)
        breakdown = usage_breakdown(account=request.user, start=start, end=end)
        breakdown.by_day[:] = _with_empty_days(breakdown.by_day, usage_days(start=start_day, end=end_day))
        days = (start_day, end_day)
        if not form.is_bound:
            form = UsageDateRangeForm(initial={"start": start_day, "end": end_day})
    context = {"form": form, "breakdown": breakdown, "days": days, "presets": _presets(request.user, days)}
    return render(request, "console/usage/usage.html", context)


def _presets(account, days) -> list[dict]:
    """Range shortcuts: the last 24 hours (its UTC days), 7 days, 30 days, the current billing cycle."""
    now = timezone.now()
    today = now.date()
    subscription = subscription_get_for_account(account=account)
    ranges = [
        ("24h", _("24 h"), (now - timedelta(hours=24)).date()),
        ("7d", _("7 days"), today - timedelta(days=6)),
        ("30d", _("30 days"), today - timedelta(days=29)),
        ("cycle", _("This cycle"), subscription.current_period_start.date()),
    ]
    return [
        {"key": key, "label": label, "start": start, "end": today, "current": days == (start, today)}
        for key, label, start in ranges
    ]
