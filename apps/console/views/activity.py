"""The customer's activity log (their own audit events, translated, filterable, paginated)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.console.activity import activity_entries, activity_events
from apps.console.forms.activity import ActivityFilterForm

PAGE_SIZE = 25


@login_required
@require_GET
def activity_page(request):
    form = ActivityFilterForm(request.GET or None)
    page = entries = None
    if not form.is_bound or form.is_valid():
        start, end = form.bounds() if form.is_bound else (None, None)
        category = form.cleaned_data.get("type", "") if form.is_bound else ""
        events = activity_events(account=request.user, category=category, start=start, end=end)
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        entries = activity_entries(page.object_list, account=request.user)
    return render(
        request,
        "console/activity/activity.html",
        {"form": form, "page_obj": page, "entries": entries},
        status=400 if form.is_bound and form.errors else 200,
    )
