import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class PaymentPurpose(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Subscription")
    UPGRADE = "upgrade", _("Upgrade proration")
    RENEWAL = "renewal", _("Renewal")
    TOPUP = "topup", _("Top-up")
    AUTO_TOPUP = "auto_topup", _("Auto top-up")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


class Payment(TimeStampedModel):
    """One charge to a customer, whatever the provider. Fulfilment happens once, when it succeeds."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payments"
    )
    purpose = models.CharField(_("type"), max_length=16, choices=PaymentPurpose.choices)
    description = models.CharField(_("description"), max_length=200)
    amount_usd = models.DecimalField(_("amount (USD)"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PaymentStatus.choices,
        default=PaymentStatus.PENDING,
        db_index=True,
    )
    provider = models.CharField(_("provider"), max_length=16)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    external_id = models.CharField(_("provider reference"), max_length=200, blank=True, db_index=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    return_url = models.CharField(max_length=500, blank=True)
    cancel_url = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    failure_message = models.CharField(_("failure"), max_length=300, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=32, unique=True, null=True, blank=True)
    invoice_url = models.URLField(_("hosted invoice"), max_length=500, blank=True)
    invoice_pdf_url = models.URLField(_("invoice PDF"), max_length=500, blank=True)
    refunded_usd = models.DecimalField(_("refunded (USD)"), max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_usd__gte=0), name="payment_amount_non_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_usd__gte=0) & models.Q(refunded_usd__lte=models.F("amount_usd")),
                name="payment_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.amount_usd} USD ({self.status})"


class PaymentMethod(TimeStampedModel):
    """A saved card for off-session charges (auto top-up, renewals). Stripe: a PaymentMethod id."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="payment_methods",
    )
    provider = models.CharField(_("provider"), max_length=16)
    external_id = models.CharField(_("provider reference"), max_length=200)
    brand = models.CharField(_("brand"), max_length=32, default="card")
    last4 = models.CharField(_("last four digits"), max_length=4)
    is_default = models.BooleanField(_("default"), default=True)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="payment_method_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"
