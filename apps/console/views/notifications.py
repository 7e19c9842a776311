"""Console notifications (SPEC §15): the inbox, the preferences page and the webhook endpoints page.

`GET  notifications/`                         the inbox (newest first, paginated); POST marks read
`GET  notifications/preferences/`             channels per event kind, quota thresholds; POST saves
`GET  webhooks/`                              endpoints; POST `webhooks/create/` (re-authentication) shows
                                              the signing secret once
`GET  webhooks/<id>/`                         one endpoint and its delivery log; POST resend/enable/delete
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.console.decorators import sensitive_action
from apps.console.forms.notifications import PreferencesForm, WebhookEndpointForm
from apps.core.exceptions import ApplicationError, NotFoundError
from apps.notifications import kinds, selectors, services, webhooks

INBOX_PAGE_SIZE = 25


def _inbox_rows(page) -> list[dict]:
    rows = []
    for notification in page:
        kind = kinds.KINDS.get(notification.kind)
        if kind is None:
            continue
        text = kind.render(notification.data)
        rows.append({"notification": notification, "title": text.title, "body": text.body, "link": kind.link})
    return rows


@login_required
def inbox(request):
    if request.method == "POST":  # one notification ("notification": its id) or all of them
        public_id = None
        if request.POST.get("notification"):
            try:
                public_id = uuid.UUID(request.POST["notification"])
            except ValueError as error:
                raise Http404 from error
        services.notification_mark_read(account=request.user, public_id=public_id)
        return redirect("console:notifications")
    paginator = Paginator(selectors.notification_inbox(account=request.user), INBOX_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page_obj": page, "rows": _inbox_rows(page)}
    return render(request, "console/notifications/inbox.html", context)


@login_required
def preferences(request):
    settings_row = services.notification_settings_get(account=request.user)
    form = PreferencesForm(request.POST or None, settings_row=settings_row)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_settings_update(
                account=request.user,
                channels=form.channels(),
                quota_thresholds=form.cleaned_data["quota_thresholds"],
            )
        except ApplicationError as error:
            form.add_error("quota_thresholds", error.message)
        else:
            messages.success(request, _("Notification preferences saved."))
            return redirect("console:notification_preferences")
    return render(request, "console/notifications/preferences.html", {"form": form})


@login_required
def webhooks_page(request, form=None, created=None):
    context = {
        "endpoints": selectors.webhook_endpoints_for_account(account=request.user),
        "form": form or WebhookEndpointForm(),
        "created": created,
        "max_endpoints": webhooks.MAX_ENDPOINTS,
    }
    return render(request, "console/notifications/webhooks.html", context)


@login_required
@require_POST
@sensitive_action
def webhook_create(request):
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            created = webhooks.webhook_endpoint_create(
                account=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except ApplicationError as error:
            form.add_error("url" if error.code == "webhook_url_refused" else None, error.message)
        else:
            return webhooks_page(request, created=created)
    return webhooks_page(request, form=form)


def _endpoint(request, public_id):
    try:
        return webhooks.webhook_endpoint_get(account=request.user, public_id=public_id)
    except NotFoundError as error:
        raise Http404 from error


@login_required
def webhook_detail(request, public_id):
    endpoint = _endpoint(request, public_id)
    context = {
        "endpoint": endpoint,
        "deliveries": selectors.webhook_deliveries_for_endpoint(endpoint=endpoint),
        "event_labels": [kinds.KINDS[code].label for code in endpoint.events if code in kinds.KINDS],
    }
    return render(request, "console/notifications/webhook_detail.html", context)


@login_required
@require_POST
def webhook_action(request, public_id, action):
    endpoint = _endpoint(request, public_id)
    if action == "delete":
        webhooks.webhook_endpoint_delete(account=request.user, public_id=endpoint.public_id)
        messages.success(request, _("Webhook endpoint deleted."))
        return redirect("console:webhooks")
    if action == "enable":
        webhooks.webhook_endpoint_enable(account=request.user, public_id=endpoint.public_id)
        messages.success(request, _("Webhook endpoint enabled."))
    elif action == "resend":
        try:
            delivery_id = int(request.POST.get("delivery", ""))
            webhooks.webhook_delivery_resend(account=request.user, delivery_id=delivery_id)
        except (ValueError, NotFoundError) as error:
            raise Http404 from error
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The delivery was sent again."))
    else:
        raise Http404
    return redirect("console:webhook_detail", public_id=endpoint.public_id)
