from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


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
