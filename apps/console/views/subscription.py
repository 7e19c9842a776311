"""/console/subscription/: plan card, change plan (upgrade with proration preview, downgrade), billing history.

Every action is an HTMX request that swaps the subscription panel, and also a plain form post
(which redirects back to the page).
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.api_keys.models import ApiKeyKind
from apps.billing.models import Payment, PaymentStatus
from apps.billing.receipts import payment_receipt_pdf
from apps.billing.selectors import payment_get_for_account, payment_history
from apps.console.forms.plans import PlanChoiceForm
from apps.console.selectors import (
    api_key_section,
    extra_usage_section,
    plan_options,
    quota_section,
    refund_cells,
)
from apps.core.exceptions import ApplicationError
from apps.plans.models import Plan
from apps.plans.selectors import plan_models_by_provider, subscription_get_for_account
from apps.plans.services import (
    subscription_grace_deadline,
    subscription_schedule_change,
    subscription_schedule_check,
    subscription_start_checkout,
    subscription_undo_scheduled_change,
    subscription_upgrade,
    subscription_upgrade_check,
    subscription_upgrade_preview,
)
from apps.usage.services import WindowResetRefused, five_hour_window_reset, window_auto_reset_set

HISTORY_PAGE_SIZE = 10
TEMPLATE = "console/plans/subscription.html"


def _context(request, *, dialog: dict | None = None, quota: bool = True) -> dict:
    subscription = subscription_get_for_account(account=request.user)
    history = Paginator(payment_history(account=request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "subscription": subscription,
        "grace_deadline": subscription_grace_deadline(subscription=subscription),
        "options": plan_options(subscription=subscription),
        "history": history,
        "dialog": dialog,
        "refund_cells": (
            refund_cells(account=request.user, subscription=subscription) if history.object_list else None
        ),
    }
    if quota:  # the whole page or panel: the quota cards and the key and Extra Usage sections too
        context |= quota_section(account=request.user, now=timezone.now())
        context["key_section"] = api_key_section(
            request=request, kind=ApiKeyKind.SUBSCRIPTION, next_url=request.get_full_path()
        )
        context["extra_usage"] = extra_usage_section(request=request, windows=context["quota_windows"])
    return context


def _panel(request, *, dialog: dict | None = None):
    """After an action: the refreshed panel for HTMX, a redirect back to the page for a plain post."""
    if request.htmx:
        context = _context(request, dialog=dialog)  # its messages go back as a toast (HtmxToastMiddleware)
        response = render(request, f"{TEMPLATE}#panel", context)
        response["HX-Retarget"] = "#subscription-panel"  # whichever element asked, the panel is replaced
        response["HX-Reswap"] = "outerHTML"
        return response
    return HttpResponseRedirect(reverse("console:subscription"))


@login_required
def subscription_page(request):
    if request.htmx and request.htmx.target == "billing-history":
        return render(request, f"{TEMPLATE}#billing_history", _context(request, quota=False))
    return render(request, TEMPLATE, _context(request))


def _reset_question(subscription) -> str:
    return _(
        "Reset the 5-hour window now? Its usage starts again from zero. You have %(left)d of %(total)d "
        "resets left in this billing cycle; they do not roll over."
    ) % {"left": subscription.window_resets_remaining, "total": subscription.plan.window_resets_per_cycle}


@login_required
@require_POST
def window_reset(request):
    """The "Reset window" button of the 5-hour card. Without confirm=1 (no JS) it asks first.

    `window_started_at` names the window the user saw, so a double click spends one reset.
    """
    subscription = subscription_get_for_account(account=request.user)
    raw = request.POST.get("window_started_at", "")[:64]
    started_at = parse_datetime(raw) if raw else None
    if raw and started_at is None:
        messages.error(request, _("Invalid parameter window_started_at: not a date-time."))
        return _panel(request)
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "console/plans/window_reset_confirm.html",
            {"question": _reset_question(subscription), "window_started_at": raw},
        )
    try:
        left = five_hour_window_reset(account=request.user, window_started_at=started_at, actor=request.user)
    except WindowResetRefused as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The 5-hour window was reset. %(left)d resets left in this billing cycle.") % {"left": left},
        )
    return _panel(request)


@login_required
@require_POST
def window_auto_reset(request):
    """Turn the automatic 5-hour window reset on or off."""
    enabled = request.POST.get("enabled") == "1"
    window_auto_reset_set(account=request.user, enabled=enabled, actor=request.user)
    messages.success(
        request,
        _("Automatic 5-hour window reset turned on.")
        if enabled
        else _("Automatic 5-hour window reset turned off."),
    )
    return _panel(request)


def _compare(old: Plan, new: Plan) -> dict:
    """What changes between two plans: limits side by side and the models gained or lost."""
    included = {
        entry.plan.pk: {model.slug: model for group in entry.groups for model in group.models}
        for entry in plan_models_by_provider(plans=[old, new])
    }
    old_models, new_models = included[old.pk], included[new.pk]
    return {
        "old": old,
        "new": new,
        "old_model_count": len(old_models),
        "new_model_count": len(new_models),
        "gained": [model for slug, model in new_models.items() if slug not in old_models],
        "lost": [model for slug, model in old_models.items() if slug not in new_models],
    }


def _dialog(request, dialog: dict):
    dialog["compare"] = _compare(dialog["subscription"].plan, dialog["plan"])
    preview = dialog.get("preview")
    if preview is not None:  # the proration arithmetic, as the dialog spells it out
        day = Decimal(86400)
        dialog["proration"] = {
            "difference": preview.new_plan.price_usd - preview.current_plan.price_usd,
            "days_left": (preview.remaining_seconds / day).quantize(Decimal("0.01")),
            "days_total": (preview.total_seconds / day).quantize(Decimal("0.01")),
        }
    if request.htmx:
        return render(request, f"{TEMPLATE}#plan_dialog", {"dialog": dialog})
    return render(request, TEMPLATE, _context(request, dialog=dialog))


def _chosen_plan(request, data) -> Plan | None:
    form = PlanChoiceForm(data)
    if form.is_valid():
        return form.cleaned_data["plan"]
    messages.error(request, form.errors["plan"][0])
    return None


@login_required
def subscribe(request):
    """GET ?plan=pro: confirm page (the pricing page links here); POST: open the checkout."""
    if request.method != "POST":
        form = PlanChoiceForm(request.GET)
        if not form.is_valid():
            raise Http404
        context = {
            "plan": form.cleaned_data["plan"],
            "subscription": subscription_get_for_account(account=request.user),
        }
        return render(request, "console/plans/subscribe.html", context)
    plan = _chosen_plan(request, request.POST)
    if plan is None:
        return _panel(request)
    page = request.build_absolute_uri(reverse("console:subscription"))
    try:
        url = subscription_start_checkout(account=request.user, plan=plan, return_url=page, cancel_url=page)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _panel(request)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


@login_required
def upgrade(request):
    """GET ?plan=max: the proration preview (a dialog); POST: charge Δ and switch at once."""
    if request.method != "POST":
        plan = _chosen_plan(request, request.GET)
        if plan is None:
            return _panel(request)
        subscription = subscription_get_for_account(account=request.user)
        try:
            subscription_upgrade_check(subscription=subscription, new_plan=plan)
        except ApplicationError as error:
            messages.error(request, error.message)
            return _panel(request)
        preview = subscription_upgrade_preview(subscription=subscription, new_plan=plan)
        return _dialog(
            request, {"kind": "upgrade", "plan": plan, "preview": preview, "subscription": subscription}
        )
    plan = _chosen_plan(request, request.POST)
    if plan is not None:
        try:
            subscription = subscription_upgrade(account=request.user, new_plan=plan)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            if subscription.plan_id == plan.pk:
                messages.success(request, _("You are now on the %(plan)s plan.") % {"plan": plan.name})
            else:  # the provider is still confirming the charge; its webhook switches the plan
                messages.info(
                    request,
                    _("Your upgrade payment is being processed; you move to %(plan)s once it is confirmed.")
                    % {"plan": plan.name},
                )
    return _panel(request)


@login_required
def schedule_change(request):
    """GET ?plan=pro: what happens at period end (a dialog); POST: schedule the downgrade or cancellation."""
    if request.method != "POST":
        plan = _chosen_plan(request, request.GET)
        if plan is None:
            return _panel(request)
        subscription = subscription_get_for_account(account=request.user)
        try:
            subscription_schedule_check(subscription=subscription, plan=plan)
        except ApplicationError as error:
            messages.error(request, error.message)
            return _panel(request)
        return _dialog(request, {"kind": "downgrade", "plan": plan, "subscription": subscription})
    plan = _chosen_plan(request, request.POST)
    if plan is not None:
        try:
            subscription = subscription_schedule_change(account=request.user, plan=plan)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            date = f"{subscription.current_period_end:%Y-%m-%d}"
            if plan.is_free:
                message = _(
                    "Your %(plan)s subscription ends on %(date)s; you then move to the Free plan."
                ) % {
                    "plan": subscription.plan.name,
                    "date": date,
                }
            else:
                message = _("Your plan will change to %(plan)s on %(date)s.") % {
                    "plan": plan.name,
                    "date": date,
                }
            messages.success(request, message)
    return _panel(request)


@login_required
@require_POST
def undo_scheduled_change(request):
    try:
        subscription = subscription_undo_scheduled_change(account=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Scheduled change undone: you stay on %(plan)s.") % {"plan": subscription.plan.name}
        )
    return _panel(request)


@login_required
def payment_receipt(request, public_id):
    """The sandbox PDF receipt of one of the account's own paid payments (404 for anyone else's)."""
    try:
        payment = payment_get_for_account(account=request.user, public_id=public_id)
    except Payment.DoesNotExist as missing:
        raise Http404 from missing
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Http404
    if payment.invoice_pdf_url or payment.invoice_url:
        return HttpResponseRedirect(payment.invoice_pdf_url or payment.invoice_url)
    response = HttpResponse(payment_receipt_pdf(payment=payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
    return response
