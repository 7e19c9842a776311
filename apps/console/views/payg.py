from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.api_keys.models import ApiKeyKind
from apps.billing.forms import SandboxCardForm
from apps.billing.selectors import payment_method_default
from apps.billing.services import payment_method_save
from apps.console.decorators import sensitive_action
from apps.console.forms.wallet import (
    TOPUP_PRESETS,
    AutoTopUpForm,
    LowBalanceAlertForm,
    SpendCapsForm,
    TopUpForm,
)
from apps.console.selectors import api_key_section
from apps.core.exceptions import ApplicationError
from apps.wallet.selectors import (
    wallet_breakdown,
    wallet_breakdown_total,
    wallet_for_account,
    wallet_transactions,
)
from apps.wallet.services import (
    TOPUP_BONUS_RATE,
    wallet_auto_topup_update,
    wallet_low_balance_alert_update,
    wallet_spend_caps_update,
    wallet_topup_start,
)

PAGE = "console/wallet/payg.html"
HISTORY_PAGE_SIZE = 20


def _receipt_url(payment) -> str:
    if payment is None:
        return ""
    if payment.invoice_url:
        return payment.invoice_url
    if not payment.receipt_number:
        return ""
    try:
        return reverse("console:payment_receipt", args=[payment.public_id])
    except NoReverseMatch:
        return ""


def _history(request):
    page = Paginator(wallet_transactions(account=request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"entry": entry, "invoice_url": _receipt_url(entry.payment)} for entry in page.object_list]
    return page, rows


def _context(request, *, full_page: bool = False, **forms) -> dict:
    wallet = wallet_for_account(account=request.user)
    breakdown = wallet_breakdown(account=request.user)
    page, rows = _history(request)
    return {
        "wallet": wallet,
        "breakdown": breakdown,
        "breakdown_total": wallet_breakdown_total(breakdown),
        "history_page": page,
        "history_rows": rows,
        "payment_method": payment_method_default(account=request.user),
        "sandbox": settings.PAYMENT_PROVIDER == "sandbox",
        "topup_form": forms.get("topup_form") or TopUpForm(),
        "topup_presets": TOPUP_PRESETS,
        "topup_bonus_basis_points": int(TOPUP_BONUS_RATE * 10000),
        "auto_topup_form": forms.get("auto_topup_form")
        or AutoTopUpForm(
            initial={
                "enabled": wallet.auto_topup_enabled,
                "threshold": wallet.auto_topup_threshold,
                "amount": wallet.auto_topup_amount,
            }
        ),
        "alert_form": forms.get("alert_form")
        or LowBalanceAlertForm(
            initial={
                "enabled": wallet.low_balance_alert_enabled,
                "threshold": wallet.low_balance_alert_threshold,
            }
        ),
        "caps_form": forms.get("caps_form")
        or SpendCapsForm(
            initial={
                "spend_cap_day": wallet.spend_cap_day,
                "spend_cap_week": wallet.spend_cap_week,
                "spend_cap_month": wallet.spend_cap_month,
                "auto_topup_monthly_max": wallet.auto_topup_monthly_max,
            }
        ),
        "card_form": forms.get("card_form") or SandboxCardForm(auto_id="card_%s"),
        "saved": forms.get("saved", ""),
        "key_section": (
            api_key_section(request=request, kind=ApiKeyKind.PAYG, next_url=request.get_full_path())
            if full_page
            else None
        ),
    }


def _respond(request, partial: str, *, ok: bool, **forms):
    """HTMX: the updated fragment. Plain POST: redirect on success, the page with errors otherwise."""
    if request.htmx:
        return render(request, f"{PAGE}#{partial}", _context(request, saved=partial if ok else "", **forms))
    if ok:
        return HttpResponseRedirect(reverse("console:payg"))
    return render(request, PAGE, _context(request, full_page=True, **forms), status=400)


@login_required
@require_GET
def payg_page(request):
    if request.htmx and request.GET.get("fragment") == "history":
        return render(request, f"{PAGE}#history", _context(request))
    return render(request, PAGE, _context(request, full_page=True))


@login_required
@require_POST
def payg_topup(request):
    form = TopUpForm(request.POST)
    if form.is_valid():
        page = request.build_absolute_uri(reverse("console:payg"))
        try:
            url = wallet_topup_start(
                account=request.user,
                amount=form.cleaned_data["amount"],
                return_url=page,
                cancel_url=page,
                save_method=form.cleaned_data["save_method"],
            )
        except ApplicationError as error:
            form.add_error("amount", error.message)
        else:
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
    return _respond(request, "topup", ok=False, topup_form=form)


@login_required
@require_POST
def payg_auto_topup(request):
    form = AutoTopUpForm(request.POST)
    if form.is_valid():
        try:
            wallet_auto_topup_update(
                account=request.user,
                enabled=form.cleaned_data["enabled"],
                threshold=form.cleaned_data["threshold"],
                amount=form.cleaned_data["amount"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if not request.htmx:
                messages.success(request, _("Auto top-up settings saved."))
            return _respond(request, "auto_topup", ok=True)
    return _respond(request, "auto_topup", ok=False, auto_topup_form=form)


@login_required
@require_POST
def payg_low_balance_alert(request):
    form = LowBalanceAlertForm(request.POST)
    if form.is_valid():
        try:
            wallet_low_balance_alert_update(
                account=request.user,
                enabled=form.cleaned_data["enabled"],
                threshold=form.cleaned_data["threshold"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if not request.htmx:
                messages.success(request, _("Low balance alert saved."))
            return _respond(request, "alert", ok=True)
    return _respond(request, "alert", ok=False, alert_form=form)


@login_required
@require_POST
def payg_spend_caps(request):
    form = SpendCapsForm(request.POST)
    if form.is_valid():
        try:
            wallet_spend_caps_update(account=request.user, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if not request.htmx:
                messages.success(request, _("Spend caps saved."))
            return _respond(request, "caps", ok=True)
    return _respond(request, "caps", ok=False, caps_form=form)


@login_required
@require_POST
@sensitive_action
def payg_sandbox_card(request):
    """Sandbox only: save a test card for auto top-up (Stripe saves cards at top-up checkout)."""
    if settings.PAYMENT_PROVIDER != "sandbox":
        return HttpResponse(status=404)
    form = SandboxCardForm(request.POST, auto_id="card_%s")
    if form.is_valid():
        number = form.cleaned_data["card_number"]
        payment_method_save(
            account=request.user,
            provider="sandbox",
            external_id=f"sbx_pm_{number[-4:]}_{request.user.pk}",
            last4=number[-4:],
        )
        if not request.htmx:
            messages.success(request, _("Card saved."))
        return _respond(request, "auto_topup", ok=True)
    return _respond(request, "auto_topup", ok=False, card_form=form)
