from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from apps.accounts.validators import validate_tax_id


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        from apps.accounts.services import account_create  # the one way an account is created

        return account_create(email=email, password=password, **extra)

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class AccountStatus(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    MONITORED = "monitored", _("Monitored")
    ABUSIVE = "abusive", _("Abusive")
    SUSPENDED = "suspended", _("Suspended")
    BANNED = "banned", _("Banned")


BLOCKED_STATUSES = frozenset({AccountStatus.SUSPENDED, AccountStatus.BANNED})


class User(AbstractUser):
    """A customer account (one person, one account) or a staff member. E-mail is the identifier."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    status = models.CharField(
        _("account status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.HEALTHY
    )
    flow_value_multiplier = models.DecimalField(
        _("flow value multiplier"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("1.0000"),
        help_text=_("Effective USD per Flow = base rate × this. Above 1 for insiders, below 1 for abuse."),
    )
    is_insider = models.BooleanField(_("insider member"), default=False)
    preferred_language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    deleted_at = models.DateTimeField(
        _("deleted"),
        null=True,
        blank=True,
        help_text=_(
            "The owner deleted the account: personal data anonymised, records kept for the retention period."
        ),
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(flow_value_multiplier__gt=0), name="user_flow_multiplier_positive"
            )
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_blocked(self) -> bool:
        return self.status in BLOCKED_STATUSES


class InvoiceDetails(models.Model):
    """What the account's receipts and invoices carry (all optional): legal name, address, tax ID.

    Shown on portal receipts and sent to the Stripe customer, so Stripe's hosted invoices carry them too.
    """

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="invoice_details",
    )
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    region = models.CharField(_("state or region"), max_length=100, blank=True)
    country = CountryField(_("country"), blank=True)
    tax_id = models.CharField(_("tax ID"), max_length=40, blank=True, validators=[validate_tax_id])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invoice details")
        verbose_name_plural = _("invoice details")

    def __str__(self) -> str:
        return self.legal_name or str(self.account_id)

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in INVOICE_FIELDS)

    def lines(self) -> list[str]:
        """The block printed under "Billed to": name, address lines, city line, country, tax ID."""
        city = " ".join(part for part in (self.postal_code, self.city) if part)
        lines = [self.legal_name, self.address_line1, self.address_line2, city, self.region]
        if self.country:
            lines.append(str(self.country.name))
        return [line for line in lines if line]


INVOICE_FIELDS = (
    "legal_name",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "region",
    "country",
    "tax_id",
)
