"""Account jobs and notices: each takes ids, is idempotent enough to send twice, never runs in the request."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from apps.accounts import services
from apps.accounts.models import User
from apps.core.emails import absolute_url, email_build, text_paragraphs

NOTICE_RETRY = {"autoretry_for": (OSError, SMTPException), "retry_backoff": True, "max_retries": 5}


@shared_task(**NOTICE_RETRY)
def account_send_insider_revoked(account_id: int) -> None:
    account = User.objects.get(pk=account_id)
    with translation.override(account.preferred_language):
        body = _(
            "Your insider membership has ended because your paid subscription did not continue "
            "(it moved to Free, was refunded or its renewal grace period ran out).\n"
            "Your Flows are now worth the standard rate. Subscribing again does not restore insider "
            "status; contact support if you think this is a mistake: %(support)s\n"
            "Your subscription: %(url)s"
        ) % {
            "support": settings.FLOWPORT_SUPPORT_EMAIL,
            "url": absolute_url(reverse("console:subscription")),
        }
        message = _account_email(_("Flowport: your insider membership has ended"), body, account)
    message.send()


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
            "reset_url": absolute_url(reverse("account_reset_password")),
            "mfa_url": absolute_url(reverse("mfa_index")),
        }
        subject = " ".join(render_to_string("account/email/login_lockout_subject.txt", context).split())
        body = render_to_string("account/email/login_lockout_message.txt", context)
        message = _account_email(subject, body, account)
    message.send()


def _account_email(subject: str, text: str, account: User):
    """A notice as the other e-mails go out: branded HTML + this text, links absolute (apps/core/emails.py).
    Called inside `translation.override(<the account's language>)`."""
    text = text.strip()
    return email_build(
        template="account",
        subject=subject,
        context={"text": text, "paragraphs": text_paragraphs(text)},
        to=[account.email],
    )
