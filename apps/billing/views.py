from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from apps.billing.forms import SandboxCardForm
from apps.billing.models import Payment, PaymentStatus
from apps.billing.providers.sandbox import card_is_declined
from apps.billing.selectors import payment_get_for_account
from apps.billing.services import payment_fail, payment_method_save, payment_succeed
from apps.core.exceptions import ApplicationError


def _safe(request, url: str, fallback: str = "/") -> str:
    return (
        url if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}) else fallback
    )


@login_required
def sandbox_checkout(request, public_id):
    """The sandbox's hosted checkout page: pay (or cancel) a pending payment; completes at once."""
    try:
        payment = payment_get_for_account(account=request.user, public_id=public_id)
    except Payment.DoesNotExist as missing:
        raise Http404 from missing
    if payment.provider != "sandbox":
        raise Http404
    if payment.status != PaymentStatus.PENDING:
        if payment.status == PaymentStatus.SUCCEEDED:
            return HttpResponseRedirect(_safe(request, payment.return_url, "/console/"))
        return render(request, "billing/sandbox_checkout.html", {"payment": payment, "closed": True})
    form = SandboxCardForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        payment_fail(payment_id=payment.pk, message=_("Canceled at checkout."), status=PaymentStatus.CANCELED)
        messages.info(request, _("Payment canceled. Nothing was charged."))
        return HttpResponseRedirect(_safe(request, payment.cancel_url, "/console/"))
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["card_number"]
        if card_is_declined(number):
            form.add_error("card_number", _("Your card was declined."))
        else:
            try:
                if payment.metadata.get("save_method"):
                    payment_method_save(
                        account=request.user,
                        provider="sandbox",
                        external_id=f"sbx_pm_{number[-4:]}_{request.user.pk}",
                        last4=number[-4:],
                    )
                payment_succeed(payment_id=payment.pk)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Payment received. Thank you!"))
                return HttpResponseRedirect(_safe(request, payment.return_url, "/console/"))
    return render(request, "billing/sandbox_checkout.html", {"payment": payment, "form": form})
