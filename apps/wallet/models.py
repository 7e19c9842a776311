"""The pay-as-you-go wallet: credit grants (buckets), an append-only ledger and the cached balances.

Every ledger entry carries its signed effect on each cached column (top-up bucket, bonus bucket,
arrears), so the wallet's cached balances are always exactly the sums of its ledger, column by column.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel

ZERO = Decimal("0")
AMOUNT = {"max_digits": 18, "decimal_places": 6}


class Bucket(models.TextChoices):
    TOP_UP = "top_up", _("Top-up credits")
    BONUS = "bonus", _("Bonus & compensation credits")


class GrantSource(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    BONUS = "bonus", _("Bonus")
    GIFT = "gift", _("Gift")
    REFERRAL = "referral", _("Referral")
    COMPENSATION = "compensation", _("Compensation")
    ADJUSTMENT = "adjustment", _("Adjustment")


class EntryType(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    BONUS = "bonus", _("Bonus")
    GIFT = "gift", _("Gift")
    REFERRAL = "referral", _("Referral")
    COMPENSATION = "compensation", _("Compensation")
    ADJUSTMENT = "adjustment", _("Adjustment")
    EXPIRED = "expired", _("Expired")
    USAGE = "usage", _("Usage")
    REFUND = "refund", _("Refund")


class Wallet(TimeStampedModel):
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="wallet"
    )
    top_up_balance = models.DecimalField(_("top-up credits"), default=ZERO, **AMOUNT)
    bonus_balance = models.DecimalField(_("bonus & compensation credits"), default=ZERO, **AMOUNT)
    arrears = models.DecimalField(_("arrears"), default=ZERO, **AMOUNT)
    # Held by in-flight pay-as-you-go requests (gateway authorize → usage/release, apps.usage).
    reserved_usd = models.DecimalField(_("reserved for requests in flight"), default=ZERO, **AMOUNT)

    auto_topup_enabled = models.BooleanField(_("auto top-up"), default=False)
    auto_topup_threshold = models.DecimalField(
        _("auto top-up threshold"), max_digits=12, decimal_places=2, default=Decimal("10.00")
    )
    auto_topup_amount = models.DecimalField(
        _("auto top-up amount"), max_digits=12, decimal_places=2, default=Decimal("100.00")
    )
    auto_topup_pending = models.BooleanField(_("auto top-up in progress"), default=False)
    auto_topup_seq = models.PositiveIntegerField(_("auto top-up crossings"), default=0)

    low_balance_alert_enabled = models.BooleanField(_("low balance alert"), default=True)
    low_balance_alert_threshold = models.DecimalField(
        _("low balance alert threshold"), max_digits=12, decimal_places=2, default=Decimal("3.00")
    )
    low_balance_alert_sent = models.BooleanField(_("low balance alert sent"), default=False)
    # Account spend caps for pay-as-you-go (issue #22): USD per UTC day, week (from Monday) and month;
    # null = no cap. And a ceiling on the auto top-ups charged per UTC calendar month.
    spend_cap_day = models.DecimalField(_("daily spend cap"), null=True, blank=True, **AMOUNT)
    spend_cap_week = models.DecimalField(_("weekly spend cap"), null=True, blank=True, **AMOUNT)
    spend_cap_month = models.DecimalField(_("monthly spend cap"), null=True, blank=True, **AMOUNT)
    auto_topup_monthly_max = models.DecimalField(
        _("auto top-up monthly ceiling"), null=True, blank=True, **AMOUNT
    )
    # What each capped period has spent so far, kept by wallet_settle under the wallet lock so a settle
    # knows before/after for the cap alerts without summing the ledger: {"day": [period start ISO, "USD"]}.
    # Emptied when the caps change (a counter starts again from the ledger on the next settle).
    cap_spend = models.JSONField(_("spend per capped period"), default=dict, blank=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(top_up_balance__gte=0), name="wallet_top_up_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(bonus_balance__gte=0), name="wallet_bonus_non_negative"
            ),
            models.CheckConstraint(condition=models.Q(arrears__gte=0), name="wallet_arrears_non_negative"),
            models.CheckConstraint(
                condition=models.Q(reserved_usd__gte=0), name="wallet_reserved_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(auto_topup_threshold__gte=0) & models.Q(auto_topup_amount__gte=0),
                name="wallet_auto_topup_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(low_balance_alert_threshold__gte=0),
                name="wallet_alert_threshold_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} ({self.total_balance} USD)"

    @property
    def total_balance(self) -> Decimal:
        return self.top_up_balance + self.bonus_balance - self.arrears


class CreditGrant(models.Model):
    """A bucket of credits from one source; usage draws `remaining` down (Lago-style grant)."""

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.CASCADE, related_name="grants"
    )
    bucket = models.CharField(_("bucket"), max_length=16, choices=Bucket.choices)
    source_type = models.CharField(_("source"), max_length=16, choices=GrantSource.choices)
    original_amount = models.DecimalField(_("amount"), **AMOUNT)
    remaining = models.DecimalField(_("remaining"), **AMOUNT)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("credit grant")
        verbose_name_plural = _("credit grants")
        constraints = [
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="grant_remaining_non_negative"),
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("original_amount")),
                name="grant_remaining_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["wallet", "bucket", "expires_at"], name="grant_consume_order")]

    def __str__(self) -> str:
        return f"{self.get_source_type_display()} {self.original_amount} ({self.remaining} left)"


class LedgerEntry(models.Model):
    """One immutable change to a wallet. `amount` = top_up_delta + bonus_delta − arrears_delta."""

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.PROTECT, related_name="entries"
    )
    entry_type = models.CharField(_("type"), max_length=16, choices=EntryType.choices)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    bucket = models.CharField(_("bucket"), max_length=16, choices=Bucket.choices, blank=True)
    top_up_delta = models.DecimalField(_("top-up credits change"), default=ZERO, **AMOUNT)
    bonus_delta = models.DecimalField(_("bonus credits change"), default=ZERO, **AMOUNT)
    arrears_delta = models.DecimalField(_("arrears change"), default=ZERO, **AMOUNT)
    grant = models.ForeignKey(
        CreditGrant,
        verbose_name=_("grant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    payment = models.ForeignKey(
        "billing.Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wallet_entries",
    )
    api_key_id = models.BigIntegerField(_("API key"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            # Rounded to the columns' 6 places: the identity on PostgreSQL's numeric, and on SQLite (which
            # adds in binary floating point: 0.1 + 0.2 != 0.3) it compares the sum at the amount's precision.
            models.CheckConstraint(
                condition=models.Q(
                    amount=Round(
                        models.F("top_up_delta") + models.F("bonus_delta") - models.F("arrears_delta"),
                        AMOUNT["decimal_places"],
                    )
                ),
                name="ledger_entry_amount_is_sum_of_deltas",
            ),
        ]
        indexes = [models.Index(fields=["wallet", "-created_at", "-id"], name="ledger_history")]

    def __str__(self) -> str:
        return f"{self.get_entry_type_display()} {self.amount}"


class GrantConsumption(models.Model):
    """How much one ledger entry (usage, negative adjustment, expiry) took from one grant."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="consumptions")
    grant = models.ForeignKey(CreditGrant, on_delete=models.PROTECT, related_name="consumptions")
    amount = models.DecimalField(_("amount"), **AMOUNT)

    class Meta:
        ordering = ["id"]
        verbose_name = _("grant consumption")
        verbose_name_plural = _("grant consumptions")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="grant_consumption_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from grant {self.grant_id}"
