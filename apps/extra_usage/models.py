"""Extra Usage (SPEC §9): while a subscription window is exhausted, bill the wallet through a payg key."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class AutoOffReason(models.TextChoices):
    KEY_DISABLED = "key_disabled", _("The selected key was disabled")
    KEY_DELETED = "key_deleted", _("The selected key was deleted")


class ExtraUsageSetting(TimeStampedModel):
    """An account's Extra Usage switch and the pay-as-you-go key it bills through.

    When it is turned off automatically (its key was disabled or deleted), `auto_off_reason` and
    `auto_off_key_name` keep what the page tells the user, until Extra Usage is turned on again.
    """

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="extra_usage_setting",
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    payg_key = models.ForeignKey(
        "api_keys.ApiKey",
        verbose_name=_("pay-as-you-go key"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    enabled_at = models.DateTimeField(_("enabled at"), null=True, blank=True)
    auto_off_reason = models.CharField(
        _("turned off automatically because"), max_length=16, choices=AutoOffReason.choices, blank=True
    )
    auto_off_key_name = models.CharField(_("key name when turned off"), max_length=100, blank=True)
    auto_off_at = models.DateTimeField(_("turned off automatically at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Extra Usage setting")
        verbose_name_plural = _("Extra Usage settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(payg_key__isnull=False, enabled_at__isnull=False),
                name="extra_usage_enabled_has_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} ({'on' if self.enabled else 'off'})"
