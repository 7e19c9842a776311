"""Console pages and actions for API keys. Every action works as an HTMX request (returns the
section fragment) and as a plain form POST (redirects back to a validated `next`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.api_keys.exceptions import ApiKeyNotFound
from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.selectors import api_key_get
from apps.api_keys.services import (
    api_key_create,
    api_key_delete,
    api_key_rename,
    api_key_rotate,
    api_key_set_limits,
    api_key_set_status,
)
from apps.console.decorators import sensitive_action
from apps.console.forms.api_keys import ApiKeyLimitsForm, ApiKeyNameForm
from apps.console.forms.usage import UsageRangeForm
from apps.console.selectors import api_key_section, create_limits_form, management_api_help
from apps.core.exceptions import ApplicationError
from apps.usage.analytics import usage_events_for_key

DETAIL_PAGE_SIZE = 25
SECTION_FRAGMENT = "console/api_keys/section.html#section"
CHANGED_EVENT = "apiKeysChanged"  # HX-Trigger for other fragments (e.g. Extra Usage's key picker)

# The page each kind's section lives on (the first that exists), for redirects without a `next`.
KIND_PAGES = {
    ApiKeyKind.SUBSCRIPTION: "console:subscription",
    ApiKeyKind.PAYG: "console:payg",
    ApiKeyKind.MANAGEMENT: "console:management_keys",
}


def kind_page_url(kind: str) -> str:
    try:
        return reverse(KIND_PAGES[kind])
    except (KeyError, NoReverseMatch):
        return reverse("console:home")


def _next_url(request, kind: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return kind_page_url(kind)


def _key_or_404(request, pk) -> ApiKey:
    try:
        return api_key_get(account=request.user, key_id=pk)
    except ApiKeyNotFound as error:
        raise Http404(error.message) from error


def _section(request, *, kind, next_url, **extra):
    context = api_key_section(request=request, kind=kind, next_url=next_url, **extra)
    response = render(request, SECTION_FRAGMENT, context)
    response["HX-Trigger"] = CHANGED_EVENT
    if extra.get("reveal"):
        add_never_cache_headers(response)
    return response


def _done(request, *, kind, next_url, notice):
    if request.htmx:
        return _section(request, kind=kind, next_url=next_url, notice=notice)
    messages.success(request, notice)
    return redirect(next_url)


def _failed(request, *, kind, next_url, error):
    if request.htmx:
        return _section(request, kind=kind, next_url=next_url, error=error)
    messages.error(request, error)
    return redirect(next_url)


def _reveal(request, *, key, secret, next_url, rotated):
    """Show a secret once: in the section's dialog (HTMX) or on its own page (plain POST)."""
    reveal = {"key": key, "secret": secret, "rotated": rotated}
    if request.htmx:
        return _section(request, kind=key.kind, next_url=next_url, reveal=reveal)
    response = render(request, "console/api_keys/secret.html", {"reveal": reveal, "next": next_url})
    add_never_cache_headers(response)
    return response


def _confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get("confirm") == "1"


def _confirm_page(request, *, key, action, title, question, button, next_url, fields=None, danger=False):
    """The no-JS confirmation step (HTMX asks with hx-confirm and sends confirm=1)."""
    return render(
        request,
        "console/api_keys/confirm.html",
        {
            "key": key,
            "action": action,
            "title": title,
            "question": question,
            "button": button,
            "next": next_url,
            "fields": fields or {},
            "danger": danger,
        },
    )


@login_required
def management_keys(request):
    return render(
        request,
        "console/api_keys/management_keys.html",
        {
            "key_section": api_key_section(
                request=request, kind=ApiKeyKind.MANAGEMENT, next_url=request.get_full_path()
            ),
            "management_api_help": management_api_help(request=request),
        },
    )


@login_required
@require_POST
@sensitive_action
def api_key_create_view(request, kind):
    """Create a key (inference keys may start with limits); bad input creates nothing and names the field."""
    if kind not in ApiKeyKind.values:
        raise Http404
    next_url = _next_url(request, kind)
    form = ApiKeyNameForm(request.POST)
    limits_form = create_limits_form(kind, request.POST)
    valid = form.is_valid()
    valid = (limits_form is None or limits_form.is_valid()) and valid
    if valid:
        try:
            key, secret = api_key_create(
                account=request.user,
                kind=kind,
                name=form.cleaned_data["name"],
                **(_limits_values(limits_form) if limits_form is not None else {}),
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return _reveal(request, key=key, secret=secret, next_url=next_url, rotated=False)
    if request.htmx:
        return _section(request, kind=kind, next_url=next_url, form=form, limits_form=limits_form)
    for bound in (form, limits_form):
        for field, errors in (bound.errors if bound is not None else {}).items():
            label = bound.fields[field].label if field in bound.fields else ""
            for message in errors:
                messages.error(request, f"{label}: {message}" if label else message)
    return redirect(next_url)


@login_required
@require_POST
def api_key_rename_view(request, pk):
    key = _key_or_404(request, pk)
    next_url = _next_url(request, key.kind)
    form = ApiKeyNameForm(request.POST)
    if not form.is_valid():
        return _failed(request, kind=key.kind, next_url=next_url, error=" ".join(form.errors["name"]))
    try:
        key = api_key_rename(account=request.user, key_id=key.pk, name=form.cleaned_data["name"])
    except ApplicationError as error:
        return _failed(request, kind=key.kind, next_url=next_url, error=error.message)
    return _done(
        request, kind=key.kind, next_url=next_url, notice=_("Key renamed to “%(name)s”.") % {"name": key.name}
    )


@login_required
def api_key_set_status_view(request, pk):
    key = _key_or_404(request, pk)
    next_url = _next_url(request, key.kind)
    status = request.POST.get("status") or request.GET.get("status")
    if status not in ApiKeyStatus.values:
        return HttpResponseBadRequest(_("Unknown key status."))
    enable = status == ApiKeyStatus.ENABLED
    if not _confirmed(request):
        return _confirm_page(
            request,
            key=key,
            action=reverse("console:api_key_set_status", args=[key.pk]),
            title=_("Enable key") if enable else _("Disable key"),
            question=(
                _("Enable “%(name)s”? Requests with it will be accepted again.")
                if enable
                else _("Disable “%(name)s”? Requests with it will be refused until you enable it again.")
            )
            % {"name": key.name},
            button=_("Enable") if enable else _("Disable"),
            next_url=next_url,
            fields={"status": status},
            danger=not enable,
        )
    try:
        key = api_key_set_status(account=request.user, key_id=key.pk, status=status)
    except ApplicationError as error:  # e.g. deleted meanwhile in another tab
        return _failed(request, kind=key.kind, next_url=next_url, error=error.message)
    notice = (_("Key “%(name)s” enabled.") if enable else _("Key “%(name)s” disabled.")) % {"name": key.name}
    return _done(request, kind=key.kind, next_url=next_url, notice=notice)


@login_required
@sensitive_action(allow_get=True)  # the no-JS confirmation page is a GET
def api_key_rotate_view(request, pk):
    key = _key_or_404(request, pk)
    next_url = _next_url(request, key.kind)
    if not _confirmed(request):
        return _confirm_page(
            request,
            key=key,
            action=reverse("console:api_key_rotate", args=[key.pk]),
            title=_("Rotate key"),
            question=_("Rotate “%(name)s”? It gets a new secret; the current one stops working immediately.")
            % {"name": key.name},
            button=_("Rotate"),
            next_url=next_url,
            danger=True,
        )
    try:
        key, secret = api_key_rotate(account=request.user, key_id=key.pk)
    except ApplicationError as error:
        return _failed(request, kind=key.kind, next_url=next_url, error=error.message)
    return _reveal(request, key=key, secret=secret, next_url=next_url, rotated=True)


@login_required
def api_key_delete_view(request, pk):
    key = _key_or_404(request, pk)
    next_url = _next_url(request, key.kind)
    if not _confirmed(request):
        return _confirm_page(
            request,
            key=key,
            action=reverse("console:api_key_delete", args=[key.pk]),
            title=_("Delete key"),
            question=_("Delete “%(name)s”? Requests with it will be refused. This cannot be undone.")
            % {"name": key.name},
            button=_("Delete"),
            next_url=next_url,
            danger=True,
        )
    try:
        key = api_key_delete(account=request.user, key_id=key.pk)
    except ApplicationError as error:
        return _failed(request, kind=key.kind, next_url=next_url, error=error.message)
    return _done(
        request, kind=key.kind, next_url=next_url, notice=_("Key “%(name)s” deleted.") % {"name": key.name}
    )


def _limits_form(key: ApiKey, data=None) -> ApiKeyLimitsForm:
    return ApiKeyLimitsForm(
        data,
        initial={
            "spend_limit": key.spend_limit,
            "spend_limit_period": key.spend_limit_period,
            "allowed_models": key.allowed_models,
            "rpm_limit": key.rpm_limit,
        },
        auto_id=f"key-{key.pk}-limits-%s",
    )


def _limits_values(form: ApiKeyLimitsForm) -> dict:
    return {
        "spend_limit": form.cleaned_data["spend_limit"],
        "spend_limit_period": form.cleaned_data["spend_limit_period"] or "",
        "allowed_models": list(form.cleaned_data["allowed_models"]),
        "rpm_limit": form.cleaned_data["rpm_limit"],
    }


def _limits_dialog(request, *, key: ApiKey, form: ApiKeyLimitsForm, next_url: str, status: int = 200):
    """The limits form in a dialog: the fragment for HTMX (swapped into the section's dialog slot, or over
    the open dialog when the input was bad), the same dialog on its own page without JavaScript."""
    context = {"key": key, "limits_form": form, "next": next_url}
    if request.htmx:
        response = render(request, "console/api_keys/limits.html#dialog", context)
        response["HX-Retarget"] = f"#api-key-dialog-{key.kind}"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "console/api_keys/limits.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_key_limits_view(request, pk):
    """A key's limits: GET opens the dialog (from the key's row menu); POST saves them, from the dialog
    (source=dialog: back to the section) or from the key's page. Bad input changes nothing: the form
    again with the errors next to their fields (400 without HTMX)."""
    key = _key_or_404(request, pk)
    if key.kind == ApiKeyKind.MANAGEMENT:
        raise Http404
    next_url = _next_url(request, key.kind)
    if request.method == "GET":
        return _limits_dialog(request, key=key, form=_limits_form(key), next_url=next_url)
    from_dialog = request.POST.get("source") == "dialog"
    form = _limits_form(key, request.POST)
    if form.is_valid():
        try:
            api_key_set_limits(account=request.user, key_id=key.pk, **_limits_values(form))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            notice = _("Limits of “%(name)s” saved.") % {"name": key.name}
            if request.htmx and from_dialog:
                return _section(request, kind=key.kind, next_url=next_url, notice=notice)
            messages.success(request, notice)
            return redirect(next_url if from_dialog else reverse("console:api_key_detail", args=[key.pk]))
    if from_dialog:
        return _limits_dialog(request, key=key, form=form, next_url=next_url, status=400)
    return api_key_detail_view(request, pk, limits_form=form, status=400)


@login_required
def api_key_detail_view(request, pk, limits_form=None, status=200):
    """One key and its usage records, paginated, filtered by a date range and a model (GET form)."""
    key = _key_or_404(request, pk)
    form = UsageRangeForm(request.GET or None)
    page = None
    if form.is_bound and not form.is_valid():
        events = None
    else:
        start, end = form.bounds() if form.is_bound else (None, None)
        model = form.cleaned_data.get("model") if form.is_bound else None
        events = usage_events_for_key(key=key, start=start, end=end, model_slug=model.slug if model else None)
        page = Paginator(events, DETAIL_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/api_keys/detail.html",
        {
            "key": key,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "back": kind_page_url(key.kind),
            "limits_form": (limits_form or _limits_form(key)) if key.kind != ApiKeyKind.MANAGEMENT else None,
        },
        status=status,
    )
