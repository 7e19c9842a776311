"""Notification e-mails: rendered in the account's language, branded, with absolute links (apps/core/emails.py)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from apps.core.emails import absolute_url, email_build
from apps.notifications.kinds import KINDS
from apps.notifications.models import Notification


def notification_email(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail for a notification, rendered in its account's language."""
    account = notification.account
    kind = KINDS[notification.kind]
    with translation.override(account.preferred_language):
        text = kind.render(notification.data)
        return email_build(
            template="notification",
            subject=f"{settings.FLOWPORT_SITE_NAME}: {text.title}",
            context={
                "title": text.title,
                "body": text.body,
                "action_url": absolute_url(reverse(kind.link)),
                "preferences_url": absolute_url(reverse("console:notification_preferences")),
            },
            to=[account.email],
        )
