"""Anomaly signals per account (SPEC §14): the latest values the detection job computed.

One row per account that had traffic in the look-back period, rewritten by each run of the job, so the
"Abuse review" list in admin reads everything it shows (signals, sparkline, top models and keys) from
one row per account, whatever the amount of traffic behind it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User


class Signal(models.TextChoices):
    IPS_PER_KEY_HOUR = "ips_per_key_hour", _("Distinct client IPs on one key in one hour")
    ACTIVE_HOURS_SHARE = "active_hours_share", _("Share of hours active (7 days)")
    WINDOWS_EXHAUSTED = "windows_exhausted", _("5-hour windows used up (7 days)")
    NEAR_RPM_MINUTES = "near_rpm_minutes", _("Minutes near the RPM limit (7 days)")
    SHARED_IP_ACCOUNTS = "shared_ip_accounts", _("Other accounts on the same client IPs")
    BASELINE_JUMP = "baseline_jump", _("Last 24 hours against the account's baseline")


class AccountSignals(models.Model):
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="abuse_signals",
    )
    computed_at = models.DateTimeField(_("computed"))
    # The highest value ÷ threshold over the signals: 1 or more means over a threshold.
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=4, default=0, db_index=True)
    # {signal: value as a string} and the signals over their threshold.
    values = models.JSONField(_("signals"), default=dict)
    flagged = models.JSONField(_("over threshold"), default=list)
    requests_7d = models.PositiveIntegerField(_("requests (7 days)"), default=0)
    flows_7d = models.DecimalField(_("Flows (7 days)"), max_digits=18, decimal_places=6, default=0)
    distinct_ips_7d = models.PositiveIntegerField(_("distinct client IPs (7 days)"), default=0)
    # [[ISO date, requests, Flows as a string], …] for the 7 days up to the run, oldest first.
    daily = models.JSONField(_("daily requests and Flows"), default=list)
    top_models = models.JSONField(_("top models"), default=list)  # [[slug, requests], …]
    top_keys = models.JSONField(_("top keys"), default=list)  # [[key id, display, requests], …]

    class Meta:
        verbose_name = _("account signals")
        verbose_name_plural = _("account signals")

    def __str__(self) -> str:
        return str(self.account_id)


class ReviewAccount(User):
    """An account as the "Abuse review" admin shows it (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("account under review")
        verbose_name_plural = _("Abuse review")
