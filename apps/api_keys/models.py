from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import BLOCKED_STATUSES, AccountStatus
from apps.core.models import TimeStampedModel


class ApiKeyKind(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Subscription")
    PAYG = "payg", _("Pay-as-you-go")
    MANAGEMENT = "management", _("Management")


class LimitPeriod(models.TextChoices):
    """The period a key's spend limit counts over (UTC calendar periods; weeks start on Monday)."""

    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    TOTAL = "total", _("Total")


class ApiKeyStatus(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DISABLED = "disabled", _("Disabled")


# SPEC §6: each kind has its own secret prefix; the secret is the prefix + 64 hex characters.
KEY_PREFIXES: dict[str, str] = {
    ApiKeyKind.SUBSCRIPTION: "sk-ss-v1-",
    ApiKeyKind.PAYG: "sk-ai-v1-",
    ApiKeyKind.MANAGEMENT: "sk-mg-v1-",
}
SECRET_HEX_LENGTH = 64


class KeyUnusable:
    """Why a key may not be used, in the order they are checked (the one rule: `api_key_unusable_reason`)."""

    DELETED = "deleted"
    DISABLED = "disabled"
    ACCOUNT_INACTIVE = "account_inactive"  # staff turned the account's `is_active` off
    ACCOUNT_SUSPENDED = AccountStatus.SUSPENDED.value
    ACCOUNT_BANNED = AccountStatus.BANNED.value
    ACCOUNT_REASONS = frozenset({ACCOUNT_INACTIVE, ACCOUNT_SUSPENDED, ACCOUNT_BANNED})


def api_key_unusable_reason(key: "ApiKey") -> str | None:
    """THE rule for "may this key be used" (gateway, management API, console): None when it may.

    Key enabled and not deleted, account active (`is_active`) and not suspended or banned. Its query
    form is `ApiKey.objects.usable()`; both must say the same thing.
    """
    if key.deleted_at is not None:
        return KeyUnusable.DELETED
    if key.status != ApiKeyStatus.ENABLED:
        return KeyUnusable.DISABLED
    account = key.account
    if not account.is_active:
        return KeyUnusable.ACCOUNT_INACTIVE
    if account.status in BLOCKED_STATUSES:
        return str(account.status)
    return None


class ApiKeyQuerySet(models.QuerySet):
    def live(self):
        """Keys that have not been deleted (deleted keys are kept for history only)."""
        return self.filter(deleted_at__isnull=True)

    def usable(self):
        """Keys that may be used now: the query form of `api_key_unusable_reason` (same rule)."""
        return self.filter(
            deleted_at__isnull=True, status=ApiKeyStatus.ENABLED, account__is_active=True
        ).exclude(account__status__in=BLOCKED_STATUSES)


class ApiKey(TimeStampedModel):
    """An API key of one kind (SPEC §6). Only a SHA-256 hash of the secret is stored, never the secret."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="api_keys"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ApiKeyKind.choices)
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(
        _("status"), max_length=16, choices=ApiKeyStatus.choices, default=ApiKeyStatus.ENABLED
    )
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    last_four = models.CharField(_("last four"), max_length=4, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    used_flows = models.DecimalField(_("Flows used"), max_digits=18, decimal_places=6, default=Decimal("0"))
    used_usd = models.DecimalField(_("USD used"), max_digits=18, decimal_places=6, default=Decimal("0"))
    request_count = models.PositiveBigIntegerField(_("requests"), default=0)
    # Per-key limits (issue #22), set by `api_key_set_limits`. The spend limit is in USD for
    # pay-as-you-go keys and in Flows for subscription keys; `has_limits` says whether any is set (the
    # metering fast path hands such keys to the full path, which enforces them).
    spend_limit = models.DecimalField(
        _("spend limit"), max_digits=18, decimal_places=6, null=True, blank=True
    )
    spend_limit_period = models.CharField(
        _("spend limit period"), max_length=8, choices=LimitPeriod.choices, blank=True, default=""
    )
    allowed_models = models.JSONField(_("allowed models"), default=list, blank=True)
    rpm_limit = models.PositiveIntegerField(_("RPM limit"), null=True, blank=True)
    has_limits = models.BooleanField(_("has limits"), default=False, db_default=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.UniqueConstraint(fields=["secret_hash"], name="api_key_secret_hash_unique"),
            models.CheckConstraint(condition=models.Q(kind__in=ApiKeyKind.values), name="api_key_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=ApiKeyStatus.values), name="api_key_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(used_flows__gte=0), name="api_key_used_flows_non_negative"
            ),
            models.CheckConstraint(condition=models.Q(used_usd__gte=0), name="api_key_used_usd_non_negative"),
            models.CheckConstraint(
                condition=models.Q(spend_limit__isnull=True, spend_limit_period="")
                | models.Q(spend_limit__gte=0, spend_limit_period__in=LimitPeriod.values),
                name="api_key_spend_limit_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "kind"],
                condition=models.Q(deleted_at__isnull=True),
                name="api_key_live_account_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """What people may see of a key: its display prefix and last four characters."""
        return f"{self.prefix}…{self.last_four}"

    @property
    def is_enabled(self) -> bool:
        return self.status == ApiKeyStatus.ENABLED and self.deleted_at is None

    @property
    def is_usable(self) -> bool:
        """May this key be used now (key and account): see `api_key_unusable_reason`."""
        return api_key_unusable_reason(self) is None
