"""Notifications (SPEC §15): what happened to an account, the customer's channel choices, webhook endpoints."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One event told to a customer. The inbox lists the ones whose inbox channel was on.

    `dedupe_key` makes an event happen once (a quota threshold: once per window instance): unique per
    account when set.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("event"), max_length=64)
    data = models.JSONField(_("details"), default=dict, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True, default="")
    in_inbox = models.BooleanField(_("in inbox"), default=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_account_dedupe_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["account", "-created_at"],
                condition=Q(in_inbox=True),
                name="notification_inbox",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}"


class NotificationSettings(models.Model):
    """An account's channel choices per event kind (only the ones that differ from the defaults)."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    # {"<kind>": {"email": bool, "inbox": bool, "webhook": bool}}
    channels = models.JSONField(_("channels"), default=dict, blank=True)
    # Percentages of a quota window that trigger a "quota.threshold" event, ascending.
    quota_thresholds = models.JSONField(_("quota thresholds"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.account_id)


class WebhookEndpoint(models.Model):
    """A customer URL that receives the chosen events, signed per Standard Webhooks with `secret`."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=100, blank=True)
    events = models.JSONField(_("events"), default=list)
    # "whsec_" + base64 of 32 random bytes. Shown to the customer once, at creation.
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event sent to one endpoint: its payload (fixed at creation) and its last attempt's outcome."""

    message_id = models.CharField(_("webhook id"), max_length=64, unique=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(_("event"), max_length=64)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="delivery_due",
            )
        ]

    def __str__(self) -> str:
        return self.message_id
