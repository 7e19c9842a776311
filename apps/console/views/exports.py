"""CSV downloads of the account's own records (columns documented in apps/console/exports.py).

The usage exports take the same GET filters as the pages they sit on: /console/usage/ (a date range,
default the last 7 days) and a key's detail page (a date range and a model, default everything). An
invalid filter is a 400 naming the problem; nothing is exported."""

from datetime import UTC, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.views.decorators.http import require_GET

from apps.api_keys.exceptions import ApiKeyNotFound
from apps.api_keys.selectors import api_key_get
from apps.billing.selectors import payment_history
from apps.console.exports import LEDGER_COLUMNS, PAYMENT_COLUMNS, USAGE_EVENT_COLUMNS, csv_response
from apps.console.forms.usage import UsageDateRangeForm, UsageRangeForm
from apps.console.views.usage import chosen_days
from apps.usage.analytics import usage_events_for_account, usage_events_for_key
from apps.wallet.selectors import wallet_transactions


def _bad_filter(form) -> HttpResponseBadRequest:
    messages = [str(message) for errors in form.errors.values() for message in errors]
    return HttpResponseBadRequest(" ".join(messages), content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def usage_export(request):
    """The usage page's range (UTC days, both inclusive; default the last 7 days) as usage events."""
    form = UsageDateRangeForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return _bad_filter(form)
    start_day, end_day = chosen_days(form)
    start = datetime.combine(start_day, time.min, tzinfo=UTC)
    end = datetime.combine(end_day, time.min, tzinfo=UTC) + timedelta(days=1)
    return csv_response(
        queryset=usage_events_for_account(account=request.user, start=start, end=end),
        columns=USAGE_EVENT_COLUMNS,
        filename=f"flowport-usage-{start_day.isoformat()}-{end_day.isoformat()}.csv",
    )


@login_required
@require_GET
def api_key_usage_export(request, pk):
    """One key's usage records with the detail page's filters (date range, model)."""
    try:
        key = api_key_get(account=request.user, key_id=pk)
    except ApiKeyNotFound as error:
        raise Http404(error.message) from error
    form = UsageRangeForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return _bad_filter(form)
    start, end = form.bounds() if form.is_bound else (None, None)
    model = form.cleaned_data.get("model") if form.is_bound else None
    return csv_response(
        queryset=usage_events_for_key(
            key=key, start=start, end=end, model_slug=model.slug if model else None
        ),
        columns=USAGE_EVENT_COLUMNS,
        filename=f"flowport-key-{key.pk}-usage.csv",
    )


@login_required
@require_GET
def billing_history_export(request):
    return csv_response(
        queryset=payment_history(account=request.user),
        columns=PAYMENT_COLUMNS,
        filename="flowport-billing-history.csv",
    )


@login_required
@require_GET
def wallet_transactions_export(request):
    return csv_response(
        queryset=wallet_transactions(account=request.user),
        columns=LEDGER_COLUMNS,
        filename="flowport-wallet-transactions.csv",
    )
