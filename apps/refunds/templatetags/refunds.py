"""`{% refund_cell payment %}`: the Refund cell of a billing history row (button, time left or why not,
and the status of refunds made through that payment). The preview and the refunds are computed once
per request, whatever the number of rows."""

from django import template

from apps.refunds.models import RefundAllocation
from apps.refunds.selectors import refund_preview

register = template.Library()

_CACHE = "_refund_cell_data"


def _data(context) -> dict:
    request = context.get("request")
    cached = getattr(request, _CACHE, None)
    if cached is not None:
        return cached
    account = request.user
    refunds: dict = {}
    allocations = RefundAllocation.objects.filter(refund__account=account).select_related("refund")
    for allocation in allocations.order_by("-refund__created_at", "-refund_id"):
        refunds.setdefault(allocation.payment_id, []).append(allocation.refund)
    preview = refund_preview(account=account, subscription=context.get("subscription"))
    data = {"preview": preview, "refunds": refunds}
    setattr(request, _CACHE, data)
    return data


@register.inclusion_tag("refunds/_refund_cell.html", takes_context=True)
def refund_cell(context, payment):
    data = _data(context)
    preview = data["preview"]
    is_cycle_payment = preview.payment is not None and preview.payment.pk == payment.pk
    return {
        "request": context.get("request"),
        "payment": payment,
        "preview": preview if is_cycle_payment else None,
        "refunds": data["refunds"].get(payment.pk, []),
    }
