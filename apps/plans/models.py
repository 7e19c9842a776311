from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.models import TimeStampedModel


class Plan(TimeStampedModel):
    """A subscription tier (SPEC §2). Staff-editable data; derived values are computed, never stored."""

    tier = models.SlugField(_("tier"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Order of tiers: a plan includes every model of lower ranks.")
    )
    price_usd = models.DecimalField(_("price per month (USD)"), max_digits=10, decimal_places=2)
    quota_5h_flows = models.DecimalField(_("5-hour quota (Flows)"), max_digits=16, decimal_places=6)
    weekly_max_flows = models.DecimalField(_("weekly max Flows"), max_digits=16, decimal_places=6)
    monthly_max_flows = models.DecimalField(_("monthly max Flows"), max_digits=16, decimal_places=6)
    rpm = models.PositiveIntegerField(_("requests per minute"))
    window_resets_per_cycle = models.PositiveSmallIntegerField(
        _("5-hour window resets per billing cycle"), default=0, db_default=0
    )
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    is_public = models.BooleanField(_("shown on the pricing page"), default=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(condition=models.Q(price_usd__gte=0), name="plan_price_non_negative"),
            models.CheckConstraint(condition=models.Q(rpm__gt=0), name="plan_rpm_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price_usd == Decimal("0")


class ModelCategory(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    EMBEDDING = "embedding", _("Embedding")


class ModelStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    COMING_SOON = "coming_soon", _("Coming soon")


class CatalogModel(TimeStampedModel):
    """A model the platform serves, with the lowest plan that includes it and optional list prices."""

    slug = models.CharField(_("slug"), max_length=128, unique=True)
    display_name = models.CharField(_("display name"), max_length=128)
    provider = models.CharField(_("provider"), max_length=64, db_index=True)
    category = models.CharField(
        _("category"), max_length=16, choices=ModelCategory.choices, default=ModelCategory.TEXT
    )
    min_plan = models.ForeignKey(
        Plan, verbose_name=_("lowest plan"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ModelStatus.choices, default=ModelStatus.AVAILABLE
    )
    input_usd_per_mtok = models.DecimalField(
        _("input price (USD / 1M tokens)"), max_digits=12, decimal_places=6, null=True, blank=True
    )
    output_usd_per_mtok = models.DecimalField(
        _("output price (USD / 1M tokens)"), max_digits=12, decimal_places=6, null=True, blank=True
    )
    usd_per_request = models.DecimalField(
        _("price per request (USD)"), max_digits=12, decimal_places=6, null=True, blank=True
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["provider", "sort_order", "slug"]
        verbose_name = _("catalog model")
        verbose_name_plural = _("catalog models")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(input_usd_per_mtok__gte=0) | models.Q(input_usd_per_mtok__isnull=True),
                name="catalogmodel_input_price_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(output_usd_per_mtok__gte=0) | models.Q(output_usd_per_mtok__isnull=True),
                name="catalogmodel_output_price_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(usd_per_request__gte=0) | models.Q(usd_per_request__isnull=True),
                name="catalogmodel_request_price_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def has_list_prices(self) -> bool:
        return any(
            p is not None for p in (self.input_usd_per_mtok, self.output_usd_per_mtok, self.usd_per_request)
        )


class FlowRate(models.Model):
    """A dated base rate (USD per Flow). The current rate is the latest one in effect."""

    usd_per_flow = models.DecimalField(_("USD per Flow"), max_digits=20, decimal_places=12)
    effective_from = models.DateTimeField(_("effective from"), db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        get_latest_by = "effective_from"
        verbose_name = _("Flow rate")
        verbose_name_plural = _("Flow rates")
        constraints = [
            models.CheckConstraint(condition=models.Q(usd_per_flow__gt=0), name="flowrate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.usd_per_flow} USD/Flow from {self.effective_from:%Y-%m-%d %H:%M}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")


class Subscription(TimeStampedModel):
    """Every account has exactly one, on Free at first. Billing periods are half-open [start, end)."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="subscription",
    )
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    current_period_start = models.DateTimeField(_("current period start"))
    current_period_end = models.DateTimeField(_("current period end"))
    scheduled_plan = models.ForeignKey(
        Plan,
        verbose_name=_("scheduled plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Applied at the end of the current period (downgrade or cancellation to Free)."),
    )
    past_due_since = models.DateTimeField(_("past due since"), null=True, blank=True)
    # Manual 5-hour window resets (issue #22): how many were spent in the cycle that started at
    # `window_resets_cycle_start` (a new cycle starts from zero: resets never roll over).
    window_resets_used = models.PositiveSmallIntegerField(_("window resets used"), default=0, db_default=0)
    window_resets_cycle_start = models.DateTimeField(_("window resets cycle"), null=True, blank=True)
    window_auto_reset = models.BooleanField(
        _("auto-reset the 5-hour window"), default=False, db_default=False
    )
    external_id = models.CharField(
        _("provider reference"),
        max_length=200,
        blank=True,
        db_index=True,
        help_text=_("Stripe subscription id."),
    )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(current_period_end__gt=models.F("current_period_start")),
                name="subscription_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} on {self.plan}"

    @property
    def window_resets_remaining(self) -> int:
        """Manual 5-hour window resets left in the current billing cycle (none roll over)."""
        used = self.window_resets_used if self.window_resets_cycle_start == self.current_period_start else 0
        return max(0, self.plan.window_resets_per_cycle - used)
