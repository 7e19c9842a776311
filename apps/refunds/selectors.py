"""Refund reads (SPEC §10): what the current billing cycle would refund now, and the refunds to show.

The figures, for the account's current cycle [current_period_start, current_period_end):

    total paid       = succeeded subscription / renewal / upgrade payments paid in the cycle
  − actual usage     = Flows billed to the subscription in the cycle (not Extra Usage, not pay-as-you-go)
                       × the account's effective USD per Flow now, to the cent
  − already refunded = what the cycle's payments have had refunded (`Payment.refunded_usd`, which a
                       succeeded refund adds to) + refunds still processing
  = refundable balance
  − fee              = 5% of the refundable balance, to the cent (half-up)
  = final refund

Usage is read from the cycle's `UsageEvent`s rather than the monthly quota window: the events are the
ledger the windows are sums of, and they are bounded by the cycle exactly (the monthly window's `used`
can carry Flows from before a plan change).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.core.money import flows_to_usd, round_cents, round_flows
from apps.plans.models import Plan
from apps.plans.selectors import effective_usd_per_flow, flow_rate_current, subscription_get_for_account
from apps.refunds.models import Refund, RefundStatus
from apps.usage.models import Decision, UsageEvent

ZERO = Decimal("0.00")
CYCLE_PURPOSES = (PaymentPurpose.SUBSCRIPTION, PaymentPurpose.RENEWAL, PaymentPurpose.UPGRADE)
STARTING_PURPOSES = (PaymentPurpose.SUBSCRIPTION, PaymentPurpose.RENEWAL)

REASON_FREE = _("Free plan has nothing to refund")
REASON_IN_PROGRESS = _("A refund is already in progress")
REASON_NO_PAYMENT = _("No payment started this billing cycle")
REASON_WINDOW_CLOSED = _("Refund window closed")
REASON_USAGE = _("Usage already exceeds what was paid")
REASON_NOTHING_LEFT = _("Nothing left to refund")


@dataclass(frozen=True)
class RefundPreview:
    plan: Plan
    period_start: datetime
    period_end: datetime
    eligible: bool
    reason: str  # translated; "" when eligible
    code: str  # machine-readable reason: "", "free", "in_progress", "no_payment", "window_closed", …
    payment: Payment | None  # the SUBSCRIPTION / RENEWAL payment that started the cycle
    payments: list[Payment] = field(default_factory=list)  # every paid payment of the cycle
    window_ends_at: datetime | None = None
    time_left: timedelta = timedelta(0)
    total_paid: Decimal = ZERO
    usage_flows: Decimal = Decimal("0")
    usd_per_flow: Decimal = Decimal("0")
    usage_usd: Decimal = ZERO
    already_refunded: Decimal = ZERO
    refundable: Decimal = ZERO
    fee: Decimal = ZERO
    amount: Decimal = ZERO

    @property
    def hours_left(self) -> int:
        return int(self.time_left.total_seconds()) // 3600

    @property
    def minutes_left(self) -> int:
        return int(self.time_left.total_seconds()) % 3600 // 60


def refund_fee(refundable: Decimal) -> Decimal:
    return round_cents(refundable * settings.FLOWPORT_REFUND_FEE_RATE)


def _cycle_payments(*, account, start: datetime, end: datetime) -> list[Payment]:
    return list(
        Payment.objects.filter(
            account=account,
            status=PaymentStatus.SUCCEEDED,
            purpose__in=CYCLE_PURPOSES,
            paid_at__gte=start,
            paid_at__lt=end,
        ).order_by("paid_at", "id")
    )


def refund_preview(*, account, now: datetime | None = None, subscription=None) -> RefundPreview:
    """Every figure of a refund of the current cycle, as of `now`, and whether it may be submitted.

    `subscription` may be passed when the caller has just read it (a page renders it anyway)."""
    now = now or timezone.now()
    if subscription is None or subscription.account_id != account.pk:
        subscription = subscription_get_for_account(account=account)
    plan, start, end = subscription.plan, subscription.current_period_start, subscription.current_period_end
    base = {"plan": plan, "period_start": start, "period_end": end}
    if plan.is_free:
        return RefundPreview(**base, eligible=False, reason=str(REASON_FREE), code="free", payment=None)

    payments = _cycle_payments(account=account, start=start, end=end)
    starting = next((p for p in payments if p.purpose in STARTING_PURPOSES), None)
    total_paid = sum((p.amount_usd for p in payments), ZERO)
    rate = effective_usd_per_flow(account=account, base_rate=flow_rate_current(at=now))
    flows = UsageEvent.objects.filter(
        account=account,
        billed_to=Decision.SUBSCRIPTION,
        extra_usage=False,
        created_at__gte=start,
        created_at__lt=min(end, now + timedelta(microseconds=1)),
    ).aggregate(total=Sum("flows"))["total"] or Decimal("0")
    flows = round_flows(flows)
    usage_usd = flows_to_usd(flows, rate)
    processing = Refund.objects.filter(account=account, status=RefundStatus.PROCESSING)
    in_progress = processing.exists()
    already = sum((p.refunded_usd for p in payments), ZERO) + (
        processing.filter(period_start=start).aggregate(total=Sum("amount_usd"))["total"] or ZERO
    )
    refundable = total_paid - usage_usd - already
    fee = refund_fee(refundable) if refundable > 0 else ZERO
    window_ends_at = (
        starting.paid_at + timedelta(hours=settings.FLOWPORT_REFUND_WINDOW_HOURS) if starting else None
    )
    figures = {
        "payment": starting,
        "payments": payments,
        "window_ends_at": window_ends_at,
        "time_left": max(window_ends_at - now, timedelta(0)) if window_ends_at else timedelta(0),
        "total_paid": total_paid,
        "usage_flows": flows,
        "usd_per_flow": rate,
        "usage_usd": usage_usd,
        "already_refunded": already,
        "refundable": max(refundable, ZERO),
        "fee": fee,
        "amount": max(refundable - fee, ZERO),
    }
    if in_progress:
        code, reason = "in_progress", REASON_IN_PROGRESS
    elif starting is None:
        code, reason = "no_payment", REASON_NO_PAYMENT
    elif now >= window_ends_at:
        code, reason = "window_closed", REASON_WINDOW_CLOSED
    elif usage_usd >= total_paid:
        code, reason = "usage", REASON_USAGE
    elif refundable - fee <= 0:
        code, reason = "nothing_left", REASON_NOTHING_LEFT
    else:
        code, reason = "", ""
    return RefundPreview(**base, **figures, eligible=not code, reason=str(reason), code=code)


def refund_list_for_account(*, account):
    return Refund.objects.filter(account=account).select_related("plan", "payment")


def refund_get_for_account(*, account, pk: int) -> Refund:
    """The account's own refund (Refund.DoesNotExist otherwise, so views answer 404)."""
    return Refund.objects.select_related("plan", "payment").get(account=account, pk=pk)


def refund_latest_for_cycle(*, account, period_start: datetime) -> Refund | None:
    return refund_list_for_account(account=account).filter(period_start=period_start).first()
