"""Account jobs."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from apps.accounts import services
from apps.accounts.models import User


@shared_task(name="accounts.purge_retained")
def accounts_purge_retained() -> int:
    return services.account_purge_retained()


@shared_task(autoretry_for=(OSError, SMTPException), retry_backoff=True, max_retries=5)
def account_send_login_lockout(account_id: int, ip: str) -> None:
    """The lock-out e-mail, in the owner's language (templates/account/email/login_lockout_*.txt)."""
    account = User.objects.get(pk=account_id)
    with translation.override(account.preferred_language):
        context = {
            "account": account,
            "ip": ip,
            "minutes": settings.FLOWPORT_LOGIN_LOCKOUT_SECONDS // 60,
            "site_url": settings.SITE_URL.rstrip("/"),
            "reset_path": reverse("account_reset_password"),
            "mfa_path": reverse("mfa_index"),
        }
        subject = " ".join(render_to_string("account/email/login_lockout_subject.txt", context).split())
        body = render_to_string("account/email/login_lockout_message.txt", context)
    send_mail(subject, body, None, [account.email])
