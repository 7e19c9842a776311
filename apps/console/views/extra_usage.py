"""The Extra Usage section of /console/subscription/ (SPEC §9). Every action is an HTMX request that
swaps the section, and also a plain form post (redirect back, or the standalone "Select a key" page)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_create
from apps.console.decorators import sensitive_action
from apps.console.forms.api_keys import ApiKeyNameForm
from apps.console.selectors import extra_usage_section
from apps.core.exceptions import ApplicationError
from apps.extra_usage.services import extra_usage_disable, extra_usage_enable

TEMPLATE = "console/extra_usage/section.html"
SECTION = f"{TEMPLATE}#section"


def _section(request, **extra):
    response = render(request, SECTION, extra_usage_section(request=request, **extra))
    if extra.get("reveal"):
        add_never_cache_headers(response)
    return response


def _back():
    return redirect(reverse("console:subscription") + "#extra-usage")


@login_required
def extra_usage_section_view(request):
    """The section alone (HTMX refresh, e.g. after a key changed elsewhere or the dialog is cancelled)."""
    if not request.htmx:
        return _back()
    return _section(request)


@login_required
def extra_usage_select_view(request):
    """The "Select a key" dialog (HTMX) or its standalone page (plain GET)."""
    if request.htmx:
        return _section(request, dialog=True)
    return render(
        request, "console/extra_usage/select.html", extra_usage_section(request=request, dialog=True)
    )


@login_required
@require_POST
def extra_usage_enable_view(request):
    try:
        extra_usage_enable(account=request.user, payg_key_id=request.POST.get("payg_key"))
    except ApplicationError as error:
        if request.htmx:
            return _section(request, dialog=True, error=error.message)
        messages.error(request, error.message)
        return redirect("console:extra_usage_select")
    messages.success(request, _("Extra Usage is on."))  # HTMX: a toast by the switch (HtmxToastMiddleware)
    if request.htmx:
        return _section(request)
    return _back()


@login_required
@require_POST
@sensitive_action
def extra_usage_create_key_view(request):
    """Create a pay-as-you-go key right in the dialog and select it; its secret is shown once."""
    form = ApiKeyNameForm(request.POST)
    error = None
    if form.is_valid():
        try:
            key, secret = api_key_create(
                account=request.user, kind=ApiKeyKind.PAYG, name=form.cleaned_data["name"]
            )
            extra_usage_enable(account=request.user, payg_key_id=key.pk)
        except ApplicationError as failure:
            error = failure.message
        else:
            reveal = {"key": key, "secret": secret, "rotated": False}
            if request.htmx:
                return _section(request, reveal=reveal)
            response = render(
                request,
                "console/api_keys/secret.html",
                {"reveal": reveal, "next": reverse("console:subscription")},
            )
            add_never_cache_headers(response)
            return response
    else:
        error = " ".join(form.errors.get("name", []))
    if request.htmx:
        return _section(request, dialog=True, form=form, error=error)
    messages.error(request, error)
    return redirect("console:extra_usage_select")


@login_required
@require_POST
def extra_usage_disable_view(request):
    extra_usage_disable(account=request.user)
    messages.success(request, _("Extra Usage is off."))
    if request.htmx:
        return _section(request)
    return _back()
