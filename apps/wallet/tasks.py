"""Wallet jobs: each takes ids, calls one service, is idempotent and safe to run twice or late."""

from smtplib import SMTPException

from celery import shared_task
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from apps.core.templatetags.flowport import usd
from apps.wallet import services
from apps.wallet.models import Wallet


@shared_task
def wallet_expire_bonuses() -> int:
    return services.wallet_expire_grants()


@shared_task
def wallet_auto_topup_charge(wallet_id: int, seq: int) -> None:
    services.wallet_auto_topup_charge(wallet_id=wallet_id, seq=seq)


@shared_task
def wallet_auto_topup_retry_stale() -> int:
    return services.wallet_auto_topup_retry_stale()


def _send(account, subject: str, body: str) -> None:
    send_mail(subject, body, None, [account.email])


# Notices are retried by Celery when sending fails (mail server down); after the last try the error is
# logged by the worker. They never run inside the request that caused them (apps/core/side_effects.py).
NOTICE_RETRY = {"autoretry_for": (OSError, SMTPException), "retry_backoff": True, "max_retries": 5}


@shared_task(**NOTICE_RETRY)
def wallet_send_low_balance_alert(wallet_id: int) -> None:
    wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
    account = wallet.account
    with translation.override(account.preferred_language):
        body = _(
            "Your pay-as-you-go balance is %(balance)s, below your alert threshold of %(threshold)s.\n"
            "Top up to keep your pay-as-you-go API keys working: %(url)s"
        ) % {
            "balance": usd(wallet.total_balance),
            "threshold": usd(wallet.low_balance_alert_threshold),
            "url": reverse("console:payg"),
        }
        _send(account, _("Flowport: your balance is low"), body)


@shared_task(**NOTICE_RETRY)
def wallet_send_auto_topup_failed(wallet_id: int, reason: str) -> None:
    wallet = Wallet.objects.select_related("account").get(pk=wallet_id)
    account = wallet.account
    with translation.override(account.preferred_language):
        body = _(
            "We could not charge your saved payment method for an auto top-up of %(amount)s (%(reason)s).\n"
            "Auto top-up is now off. Check your payment method and turn it back on: %(url)s"
        ) % {"amount": usd(wallet.auto_topup_amount), "reason": reason, "url": reverse("console:payg")}
        _send(account, _("Flowport: auto top-up failed and was turned off"), body)
