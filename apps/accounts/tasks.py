"""Account notices: each takes ids, is idempotent enough to send twice, never runs in the request."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from apps.accounts.models import User

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
            "url": settings.SITE_URL.rstrip("/") + reverse("console:subscription"),
        }
        send_mail(_("Flowport: your insider membership has ended"), body, None, [account.email])
