"""Console refund dialog (SPEC §10): preview, confirm and submit, then the refund's status.

`GET  refund/<payment>/`  the dialog: preview of the current cycle's refund (or why it is not possible)
`POST refund/<payment>/`  submit (needs the "plan drops to Free" confirmation); shows the new status
`GET  refunds/<pk>/`      one refund's status (the dialog polls it while processing)
HTMX requests get the `<dialog>` fragment; plain requests get a full page with the same content.
Another account's payment or refund answers 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from apps.billing.models import Payment
from apps.billing.selectors import payment_get_for_account
from apps.console.forms.refunds import RefundConfirmForm
from apps.core.exceptions import ApplicationError
from apps.refunds.models import Refund
from apps.refunds.selectors import refund_get_for_account, refund_latest_for_cycle, refund_preview
from apps.refunds.services import refund_request

TEMPLATE = "console/refunds/dialog.html"


def _render(request, context: dict):
    if request.htmx:
        return render(request, f"{TEMPLATE}#dialog", context)
    return render(request, TEMPLATE, context)


def _own_payment(request, public_id) -> Payment:
    try:
        return payment_get_for_account(account=request.user, public_id=public_id)
    except Payment.DoesNotExist as error:
        raise Http404 from error


@login_required
def refund_dialog(request, public_id):
    payment = _own_payment(request, public_id)
    preview = refund_preview(account=request.user)
    form = RefundConfirmForm(request.POST if request.method == "POST" else None)
    refund = None
    if request.method == "POST":
        if preview.payment is None or preview.payment.pk != payment.pk:
            raise Http404  # only the payment that started the current cycle is refunded here
        if form.is_valid():
            try:
                refund = refund_request(account=request.user)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                refund.refresh_from_db()
                preview = refund_preview(account=request.user)
    if refund is None and preview.payment is not None and preview.payment.pk == payment.pk:
        refund = refund_latest_for_cycle(account=request.user, period_start=preview.period_start)
    context = {"payment": payment, "preview": preview, "form": form, "refund": refund}
    return _render(request, context)


@login_required
def refund_detail(request, pk: int):
    try:
        refund = refund_get_for_account(account=request.user, pk=pk)
    except Refund.DoesNotExist as error:
        raise Http404 from error
    return _render(request, {"payment": refund.payment, "preview": None, "form": None, "refund": refund})
