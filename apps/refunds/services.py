"""Refund writes (SPEC §10): request, provider submission, settlement, staff cancel.

- `refund_request` recomputes the preview under the subscription row lock (two submits at once are
  serialised there; the partial unique constraint "one processing refund per account" is the backstop),
  freezes the figures on a `Refund` (processing) split over the cycle's payments, and only AFTER commit
  asks the provider to refund each part (no HTTP call while a row is locked), with idempotency keys
  derived from the refund pk (`refund:<pk>` for the refund, `refund:<pk>:<payment pk>` per part).
- Split: the payment that started the cycle first, then the cycle's upgrade charges oldest first, each
  up to its `amount_usd − refunded_usd`. The main payment is refunded first because it is the cycle's
  subscription invoice on Stripe, so the common case (no upgrade) is one provider refund.
- `refund_settle` is idempotent (a settled refund is never changed again). On success the payments'
  `refunded_usd` grow, one `refund.succeeded` audit event is written, the subscription drops to Free
  at once (`subscription_drop_to_free` writes its own `subscription.dropped_to_free` event), and after
  commit the provider subscription is canceled without proration and an e-mail confirms the amount.
  On failure (or a staff cancel) the plan is unchanged; one `refund.failed` / `refund.canceled` event.
"""

import copy
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.billing.models import Payment
from apps.billing.providers import get_provider
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.plans.models import Subscription
from apps.plans.services import subscription_drop_to_free, subscription_lock
from apps.refunds import jobs
from apps.refunds.models import TERMINAL, Refund, RefundAllocation, RefundStatus
from apps.refunds.selectors import ZERO, RefundPreview, refund_preview

logger = logging.getLogger(__name__)


def _split(preview: RefundPreview) -> list[tuple[Payment, Decimal]]:
    """Spread the refund over the cycle's payments: the starting payment first, then upgrades, oldest first."""
    ordered = [preview.payment] + [p for p in preview.payments if p.pk != preview.payment.pk]
    left, parts = preview.amount, []
    for payment in ordered:
        available = payment.amount_usd - payment.refunded_usd
        take = min(left, available)
        if take > 0:
            parts.append((payment, take))
            left -= take
    if left > 0:  # cannot happen: amount <= total paid − already refunded
        raise ApplicationError(_("The refund exceeds what the payments can return."), code="refund_too_large")
    return parts


def refund_in_progress_refuse_upgrade(*, subscription: Subscription) -> None:
    """`plans.hooks.upgrade_check` handler: the plan cannot change while a refund of the cycle is processing."""
    if Refund.objects.filter(account_id=subscription.account_id, status=RefundStatus.PROCESSING).exists():
        raise ApplicationError(
            _("A refund of this billing cycle is in progress; the plan cannot change until it is settled."),
            code="refund_in_progress",
        )


def _enqueue_submit(refund_id: int) -> None:
    jobs.refund_submit_due.send(refund_id=refund_id)


def refund_request(*, account, now: datetime | None = None) -> Refund:
    """Submit a refund of the current cycle, with every figure recomputed now. Nothing is created on refusal."""
    now = now or timezone.now()
    subscription_id = Subscription.objects.values_list("pk", flat=True).get(account=account)
    try:
        with transaction.atomic():
            subscription_lock(subscription_id)
            preview = refund_preview(account=account, now=now)
            if not preview.eligible:
                raise ApplicationError(preview.reason, code=f"refund_{preview.code}")
            refund = Refund.objects.create(
                account=account,
                plan=preview.plan,
                period_start=preview.period_start,
                period_end=preview.period_end,
                payment=preview.payment,
                total_paid_usd=preview.total_paid,
                usage_flows=preview.usage_flows,
                usd_per_flow=preview.usd_per_flow,
                usage_usd=preview.usage_usd,
                already_refunded_usd=preview.already_refunded,
                refundable_usd=preview.refundable,
                fee_usd=preview.fee,
                amount_usd=preview.amount,
            )
            refund.idempotency_key = f"refund:{refund.pk}"
            refund.save(update_fields=["idempotency_key"])
            for payment, amount in _split(preview):
                RefundAllocation.objects.create(
                    refund=refund,
                    payment=payment,
                    amount_usd=amount,
                    idempotency_key=f"{refund.idempotency_key}:{payment.pk}",
                )
            audit_record(
                event_type="refund.requested",
                account=account,
                actor=account,
                subject=refund,
                details={
                    "amount_usd": str(refund.amount_usd),
                    "total_paid_usd": str(refund.total_paid_usd),
                    "usage_usd": str(refund.usage_usd),
                    "already_refunded_usd": str(refund.already_refunded_usd),
                    "fee_usd": str(refund.fee_usd),
                    "plan": preview.plan.tier,
                },
            )
            transaction.on_commit(lambda: _enqueue_submit(refund.pk))
    except IntegrityError as error:  # another submit won the race past the lock (one processing per account)
        raise ApplicationError(_("A refund is already in progress"), code="refund_in_progress") from error
    return refund


def _provider_refused(error: Exception) -> bool:
    """A 4xx answer is final (refused). A timeout, 5xx, 409 (a concurrent request with the same key) or
    429 (rate limit) may go through next time: the part stays unsent and is retried with the same key."""
    status = getattr(error, "http_status", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (409, 429)


def _submit_parts(refund: Refund, provider) -> None:
    for allocation in refund.allocations.select_related("payment").filter(
        external_id="", status=RefundStatus.PROCESSING
    ):
        try:
            result = provider.refund(
                payment=allocation.payment,
                amount_usd=allocation.amount_usd,
                idempotency_key=allocation.idempotency_key,
            )
        except Exception as error:
            logger.exception("Provider refund of allocation %s did not complete", allocation.pk)
            if _provider_refused(error):
                RefundAllocation.objects.filter(pk=allocation.pk).update(status=RefundStatus.FAILED)
            continue
        RefundAllocation.objects.filter(pk=allocation.pk, external_id="").update(
            external_id=result.external_id,
            status=_part_status(result.status),
        )


def refund_submit(*, refund_id: int) -> Refund:
    """Ask the provider to refund each part (after commit, outside any lock); idempotent on the parts' keys."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    _submit_parts(refund, get_provider())
    refund = refund_reconcile(refund_id=refund.pk)
    if refund.status == RefundStatus.PROCESSING:
        # The provider settles later: sandbox through this task; Stripe through refund webhooks (this
        # task re-reading the refunds is a harmless catch-up there).
        transaction.on_commit(lambda: jobs.refund_sync_due.send(refund_id=refund.pk))
    return refund


def _part_status(provider_status: str) -> str:
    return {
        "succeeded": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
        "canceled": RefundStatus.CANCELED,
    }.get(provider_status, RefundStatus.PROCESSING)


def refund_sync(*, refund_id: int) -> Refund:
    """Re-read each unsettled part from the provider (resubmitting any never accepted); settle when final."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    provider = get_provider()
    _submit_parts(refund, provider)
    for allocation in refund.allocations.filter(status=RefundStatus.PROCESSING).exclude(external_id=""):
        result = provider.read_refund(external_id=allocation.external_id)
        refund_part_update(external_id=allocation.external_id, provider_status=result.status, reconcile=False)
    return refund_reconcile(refund_id=refund.pk)


def refund_sync_processing(*, older_than: timedelta = timedelta(minutes=5), limit: int = 200) -> int:
    """Catch-up (beat): re-read refunds still processing after a while (lost webhook, crashed submit)."""
    cutoff = timezone.now() - older_than
    ids = list(
        Refund.objects.filter(status=RefundStatus.PROCESSING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for refund_id in ids:
        try:
            refund_sync(refund_id=refund_id)
        except Exception:  # one provider hiccup must not stop the others; the next run retries
            logger.exception("Refund %s could not be synced", refund_id)
    return len(ids)


def refund_part_update(*, external_id: str, provider_status: str, reconcile: bool = True) -> Refund | None:
    """A provider refund's fresh status (re-read by the caller): record it, settle the refund when final."""
    allocation = (
        RefundAllocation.objects.filter(external_id=external_id).select_related("refund__account").first()
    )
    if allocation is None:
        return None  # not ours (refunded by staff in the Stripe dashboard, say)
    status = _part_status(provider_status)
    if status != RefundStatus.PROCESSING:
        updated = RefundAllocation.objects.filter(pk=allocation.pk, status=RefundStatus.PROCESSING).update(
            status=status
        )
        if not updated and allocation.status == RefundStatus.SUCCEEDED and status != RefundStatus.SUCCEEDED:
            return refund_part_reversed(allocation_id=allocation.pk, provider_status=status)
        if not updated and status == RefundStatus.SUCCEEDED and allocation.status != RefundStatus.SUCCEEDED:
            # Money went back after we settled the part otherwise (e.g. staff canceled the refund while
            # the provider still paid it out): flag it for staff, visibly, and change nothing else.
            with transaction.atomic():
                audit_record(
                    event_type="refund.provider_mismatch",
                    account=allocation.refund.account,
                    subject=allocation.refund,
                    details={"external_id": external_id, "ours": allocation.status, "provider": status},
                )
            logger.error(
                "Refund part %s succeeded at the provider after being %s", external_id, allocation.status
            )
    if reconcile:
        return refund_reconcile(refund_id=allocation.refund_id)
    return allocation.refund


def refund_part_reversed(*, allocation_id: int, provider_status: str) -> Refund:
    """The provider reports a refund part failed after it had succeeded (the card was closed, the bank
    sent the money back): the money is not with the customer after all.

    Recorded once: the part becomes failed, its payment's `refunded_usd` shrinks by the part, and the
    refund is marked failed with a message the customer sees on the refund and staff see in the admin,
    plus one `refund.reversed` audit event. The plan is not restored on its own (the customer canceled
    by asking for the refund); staff settle it with the customer, e.g. by refunding another way.
    """
    with transaction.atomic():
        allocation = (
            RefundAllocation.objects.select_for_update().select_related("refund").get(pk=allocation_id)
        )
        refund = Refund.objects.select_for_update().select_related("account").get(pk=allocation.refund_id)
        if allocation.status != RefundStatus.SUCCEEDED:
            return refund  # recorded already (a replayed or second event)
        allocation.status = RefundStatus.FAILED
        allocation.save(update_fields=["status"])
        payment = Payment.objects.select_for_update().get(pk=allocation.payment_id)
        payment.refunded_usd = max(payment.refunded_usd - allocation.amount_usd, ZERO)
        payment.save(update_fields=["refunded_usd", "updated_at"])
        refund.status = RefundStatus.FAILED
        refund.failure_message = _(
            "The payment provider could not return %(amount)s USD to your card after all. "
            "Please contact support so we can refund you another way."
        ) % {"amount": allocation.amount_usd}
        refund.save(update_fields=["status", "failure_message", "updated_at"])
        audit_record(
            event_type="refund.reversed",
            account=refund.account,
            subject=refund,
            details={
                "external_id": allocation.external_id,
                "amount_usd": str(allocation.amount_usd),
                "provider": provider_status,
                "payment": str(payment.public_id),
            },
        )
    logger.error("Refund part %s was reversed by the provider (%s)", allocation.external_id, provider_status)
    return refund


def refund_reconcile(*, refund_id: int) -> Refund:
    """Settle once every part is final: all succeeded -> succeeded; any failed or canceled -> failed."""
    statuses = set(RefundAllocation.objects.filter(refund_id=refund_id).values_list("status", flat=True))
    if RefundStatus.PROCESSING in statuses:
        return Refund.objects.get(pk=refund_id)
    outcome = RefundStatus.SUCCEEDED if statuses == {RefundStatus.SUCCEEDED} else RefundStatus.FAILED
    return refund_settle(refund_id=refund_id, status=outcome)


def refund_settle(
    *, refund_id: int, status: str, actor=None, message: str = "", now: datetime | None = None
) -> Refund:
    """Final status of a refund. Idempotent: a settled refund is returned unchanged."""
    if status not in TERMINAL:
        raise ApplicationError(_("Not a final refund status."), code="refund_status_invalid")
    now = now or timezone.now()
    ended = None
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("account").get(pk=refund_id)
        if refund.status != RefundStatus.PROCESSING:
            return refund
        allocations = list(refund.allocations.all())
        if status == RefundStatus.SUCCEEDED:
            RefundAllocation.objects.filter(refund=refund).update(status=RefundStatus.SUCCEEDED)
            allocations = [(a, RefundStatus.SUCCEEDED) for a in allocations]
        else:
            allocations = [(a, a.status) for a in allocations]
        # Money that really went back (every part on success; parts that succeeded before a failure).
        for allocation, part_status in allocations:
            if part_status == RefundStatus.SUCCEEDED:
                payment = Payment.objects.select_for_update().get(pk=allocation.payment_id)
                payment.refunded_usd += allocation.amount_usd
                payment.save(update_fields=["refunded_usd", "updated_at"])
        if status != RefundStatus.SUCCEEDED:
            RefundAllocation.objects.filter(refund=refund, status=RefundStatus.PROCESSING).update(
                status=status
            )
        refund.status = status
        refund.settled_at = now
        refund.failure_message = message[:300]
        refund.save(update_fields=["status", "settled_at", "failure_message", "updated_at"])
        audit_record(
            event_type=f"refund.{status}",
            account=refund.account,
            actor=actor,
            subject=refund,
            details={"amount_usd": str(refund.amount_usd), "message": message[:300]},
        )
        if status == RefundStatus.SUCCEEDED:
            subscription = Subscription.objects.get(account=refund.account)
            ended = copy.copy(subscription)  # keeps the provider id that dropping to Free clears
            subscription_drop_to_free(subscription=subscription, reason="refunded", actor=actor, now=now)
            transaction.on_commit(lambda: _after_success(refund=refund, ended=ended))
    return refund


def _after_success(*, refund: Refund, ended: Subscription) -> None:
    if ended.external_id:
        try:
            get_provider().subscription_cancel_now(subscription=ended)
        except Exception:  # the refund stands; staff see the log and the provider's own retry/webhook
            logger.exception(
                "Canceling provider subscription %s after refund %s failed", ended.external_id, refund.pk
            )


def refund_cancel(*, refund_id: int, actor, reason: str = "") -> Refund:
    """Staff cancel a processing refund (admin action). Nothing moves; the plan is unchanged."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.PROCESSING:
        raise ApplicationError(_("Only a processing refund can be canceled."), code="refund_not_processing")
    return refund_settle(refund_id=refund_id, status=RefundStatus.CANCELED, actor=actor, message=reason)


__all__ = [
    "ZERO",
    "refund_cancel",
    "refund_part_reversed",
    "refund_part_update",
    "refund_reconcile",
    "refund_request",
    "refund_settle",
    "refund_submit",
    "refund_sync",
    "refund_sync_processing",
]
