from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class RefundStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


TERMINAL = (RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.CANCELED)


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2)


class Refund(TimeStampedModel):
    """A refund of the current billing cycle (SPEC §10). Its figures are frozen when it is submitted."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT, related_name="refunds"
    )
    plan = models.ForeignKey("plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField(_("billing cycle start"))
    period_end = models.DateTimeField(_("billing cycle end"))
    payment = models.ForeignKey(
        "billing.Payment",
        verbose_name=_("payment that started the cycle"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    payments = models.ManyToManyField(
        "billing.Payment",
        through="RefundAllocation",
        verbose_name=_("payments refunded"),
        related_name="+",
    )
    total_paid_usd = _money(_("total paid"))
    usage_flows = models.DecimalField(_("Flows used"), max_digits=20, decimal_places=6)
    usd_per_flow = models.DecimalField(_("effective USD per Flow"), max_digits=20, decimal_places=12)
    usage_usd = _money(_("actual usage"))
    already_refunded_usd = _money(_("already refunded"))
    refundable_usd = _money(_("refundable balance"))
    fee_usd = _money(_("fee"))
    amount_usd = _money(_("refund amount"))
    status = models.CharField(
        _("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.PROCESSING
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True, null=True)
    failure_message = models.CharField(_("failure"), max_length=300, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="processing"),
                name="refund_one_processing_per_account",
            ),
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="refund_amount_positive"),
            # Rounded to cents: the identity on PostgreSQL, a cent-exact comparison on SQLite's floats.
            models.CheckConstraint(
                condition=Q(fee_usd__gte=0) & Q(amount_usd=Round(F("refundable_usd") - F("fee_usd"), 2)),
                name="refund_amount_is_refundable_minus_fee",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["processing", "succeeded", "failed", "canceled"]),
                name="refund_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_usd} USD ({self.status})"


class RefundAllocation(models.Model):
    """The part of a refund returned through one of the cycle's payments (one provider refund each)."""

    refund = models.ForeignKey(
        Refund, verbose_name=_("refund"), on_delete=models.CASCADE, related_name="allocations"
    )
    payment = models.ForeignKey(
        "billing.Payment",
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="refund_allocations",
    )
    amount_usd = _money(_("amount (USD)"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    external_id = models.CharField(_("provider reference"), max_length=200, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.PROCESSING
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("refund allocation")
        verbose_name_plural = _("refund allocations")
        constraints = [
            models.UniqueConstraint(fields=["refund", "payment"], name="refund_allocation_once_per_payment"),
            models.CheckConstraint(condition=Q(amount_usd__gt=0), name="refund_allocation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_usd} USD of payment {self.payment_id}"
