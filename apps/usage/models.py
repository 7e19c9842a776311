"""Metering state (SPEC §5, §7): quota windows, their archive, reservations and settled usage events."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0")
MAX_USER_AGENT = 512  # the gateway's `client.user_agent` (SPEC §7), bounded to the column


def _client_ip_field():
    # The end client's address as the gateway saw it (abuse signals, SPEC §14); cleared after
    # FLOWPORT_CLIENT_IP_RETENTION_DAYS by `usage.clear_client_ips`.
    return models.GenericIPAddressField(_("client IP"), null=True, blank=True)


def _client_user_agent_field():
    return models.CharField(_("client user agent"), max_length=MAX_USER_AGENT, null=True, blank=True)


class WindowKind(models.TextChoices):
    FIVE_HOUR = "five_hour", _("5-hour window")
    WEEKLY = "weekly", _("7-day window")
    MONTHLY = "monthly", _("Monthly cap")


# The order windows are always locked in (same order everywhere, so two transactions never deadlock).
WINDOW_KINDS: tuple[str, ...] = (WindowKind.FIVE_HOUR, WindowKind.WEEKLY, WindowKind.MONTHLY)


class Decision(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Subscription")
    PAYG = "payg", _("Pay-as-you-go")


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SETTLED = "settled", _("Settled")
    RELEASED = "released", _("Released")


def _flows_field(verbose_name):
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=6, default=ZERO)


class QuotaWindow(models.Model):
    """One of an account's three Flow windows. Idle = started_at/resets_at null (5-hour and weekly)."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("window"), max_length=16, choices=WindowKind.choices)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    resets_at = models.DateTimeField(_("resets"), null=True, blank=True, db_index=True)
    used_flows = _flows_field(_("Flows used"))
    reserved_flows = _flows_field(_("Flows reserved"))

    class Meta:
        verbose_name = _("quota window")
        verbose_name_plural = _("quota windows")
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="quota_window_account_kind_unique"),
            models.CheckConstraint(condition=Q(kind__in=WindowKind.values), name="quota_window_kind_valid"),
            models.CheckConstraint(condition=Q(used_flows__gte=0), name="quota_window_used_non_negative"),
            models.CheckConstraint(
                condition=Q(reserved_flows__gte=0), name="quota_window_reserved_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}"


class QuotaWindowArchive(models.Model):
    """A finished window. Unique on (account, kind, started_at): rolling twice archives once."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("window"), max_length=16, choices=WindowKind.choices)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    used_flows = _flows_field(_("Flows used"))
    created_at = models.DateTimeField(_("archived"), default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("archived quota window")
        verbose_name_plural = _("archived quota windows")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "started_at"], name="quota_archive_account_kind_start_unique"
            ),
            models.CheckConstraint(condition=Q(used_flows__gte=0), name="quota_archive_used_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.started_at:%Y-%m-%d %H:%M}"


class Reservation(models.Model):
    """What `authorize` reserved for one gateway request, until `usage` settles or `release` drops it.

    This table and UsageEvent take a row on every inference request, so they carry only the indexes
    something reads (each one costs every insert): request ids are unique through a constraint, not
    `unique=True`, which on PostgreSQL adds a second, pattern-matching index nobody queries; the rare
    Extra Usage / pay-as-you-go `billed_key` is indexed only where it is set.
    """

    request_id = models.CharField(_("request id"), max_length=128)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    api_key = models.ForeignKey(
        "api_keys.ApiKey", verbose_name=_("API key"), on_delete=models.PROTECT, related_name="+"
    )
    model = models.ForeignKey(
        "plans.CatalogModel", verbose_name=_("model"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("billed to"), max_length=16, choices=Decision.choices)
    extra_usage = models.BooleanField(_("Extra Usage"), default=False)
    # Extra Usage: the pay-as-you-go key the wallet is billed through (api_key is the subscription key used).
    billed_key = models.ForeignKey(
        "api_keys.ApiKey",
        verbose_name=_("billed through key"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,  # a partial index below
    )
    reserved_flows = _flows_field(_("Flows reserved"))
    reserved_usd = _flows_field(_("USD reserved"))
    # The start of each window the Flows were reserved in (subscription decisions only).
    five_hour_started_at = models.DateTimeField(_("5-hour window start"), null=True, blank=True)
    weekly_started_at = models.DateTimeField(_("7-day window start"), null=True, blank=True)
    monthly_started_at = models.DateTimeField(_("monthly window start"), null=True, blank=True)
    rpm_remaining = models.IntegerField(_("RPM remaining"), null=True, blank=True)
    client_ip = _client_ip_field()
    client_user_agent = _client_user_agent_field()
    # The key spend-limit period this request was reserved in (None: the key had no spend limit) and
    # how much (the key's unit: Flows for subscription keys, USD for pay-as-you-go keys).
    key_limit_start = models.DateTimeField(_("key limit period start"), null=True, blank=True)
    # db_default: the fast path's INSERT (fastpath.py) does not name these columns.
    key_limit_reserved = models.DecimalField(
        _("reserved against the key limit"), max_digits=18, decimal_places=6, default=ZERO, db_default=ZERO
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    settled_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="reservation_decision_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReservationStatus.values), name="reservation_status_valid"
            ),
            models.CheckConstraint(condition=Q(reserved_flows__gte=0), name="reservation_flows_non_negative"),
            models.CheckConstraint(condition=Q(reserved_usd__gte=0), name="reservation_usd_non_negative"),
            models.UniqueConstraint(fields=["request_id"], name="reservation_request_id_unique"),
        ]
        indexes = [
            models.Index(
                fields=["billed_key"], condition=Q(billed_key__isnull=False), name="reservation_billed_key"
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(status="active"),
                name="reservation_active_created",
            ),
            # The client IP retention job finds the old reservations that still hold an address.
            models.Index(
                fields=["created_at"],
                condition=Q(client_ip__isnull=False),
                name="reservation_client_ip_created",
            ),
        ]

    def __str__(self) -> str:
        return self.request_id

    def window_start(self, kind: str):
        return getattr(self, f"{kind}_started_at")


class UsageEvent(models.Model):
    """One settled request: what it cost and who paid. Windows' used totals are sums of these Flows.

    Indexed as sparingly as Reservation (see there); account and key are reached through the
    (account, created_at) and (api_key, created_at) indexes, which serve their foreign keys too.
    """

    request_id = models.CharField(_("request id"), max_length=128)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    api_key = models.ForeignKey(
        "api_keys.ApiKey",
        verbose_name=_("API key"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    model = models.ForeignKey(
        "plans.CatalogModel", verbose_name=_("model"), on_delete=models.PROTECT, related_name="+"
    )
    input_tokens = models.PositiveBigIntegerField(_("input tokens"), default=0)
    output_tokens = models.PositiveBigIntegerField(_("output tokens"), default=0)
    cost_usd = _flows_field(_("cost (USD)"))
    flows = _flows_field(_("Flows"))
    billed_to = models.CharField(_("billed to"), max_length=16, choices=Decision.choices)
    extra_usage = models.BooleanField(_("Extra Usage"), default=False)
    billed_key = models.ForeignKey(
        "api_keys.ApiKey",
        verbose_name=_("billed through key"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,  # a partial index below
    )
    client_ip = _client_ip_field()
    client_user_agent = _client_user_agent_field()
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        constraints = [
            models.CheckConstraint(
                condition=Q(billed_to__in=Decision.values), name="usage_event_billed_to_valid"
            ),
            models.CheckConstraint(condition=Q(cost_usd__gte=0), name="usage_event_cost_non_negative"),
            models.CheckConstraint(condition=Q(flows__gte=0), name="usage_event_flows_non_negative"),
            models.UniqueConstraint(fields=["request_id"], name="usage_event_request_id_unique"),
        ]
        indexes = [
            models.Index(
                fields=["billed_key"], condition=Q(billed_key__isnull=False), name="usage_event_billed_key"
            ),
            models.Index(fields=["account", "created_at"], name="usage_event_account_created"),
            models.Index(fields=["api_key", "created_at"], name="usage_event_key_created"),
            # All accounts' recent events (anomaly signals) and old events holding a client IP (retention).
            models.Index(fields=["created_at"], name="usage_event_created"),
        ]

    def __str__(self) -> str:
        return self.request_id


class KeySpend(models.Model):
    """A key's spend in one period of its spend limit (issue #22): the counter `authorize` checks.

    Same room rule as the windows: a request is admitted while `used + reserved < limit`. `used` is in
    the key's unit (Flows for subscription keys, USD for pay-as-you-go keys).
    """

    api_key = models.ForeignKey(
        "api_keys.ApiKey", verbose_name=_("API key"), on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateTimeField(_("period start"))
    used = _flows_field(_("used"))
    reserved = _flows_field(_("reserved"))

    class Meta:
        verbose_name = _("key spend")
        verbose_name_plural = _("key spend")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "period_start"], name="key_spend_key_period_unique"),
            models.CheckConstraint(condition=Q(used__gte=0), name="key_spend_used_non_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="key_spend_reserved_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.period_start:%Y-%m-%d}"
