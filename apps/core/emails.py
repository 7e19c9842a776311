"""Branded e-mail: HTML with a plain-text alternative, absolute links built from SITE_URL.

Every customer e-mail (notifications, allauth's account e-mails) goes through `email_build`, which
renders `emails/<template>.txt` and `.html` (both extend `emails/base.*`) with `site_name` and
`site_url`. Render inside `translation.override(<the account's language>)`. The provider is chosen by
EMAIL_BACKEND (SMTP, or an anymail backend such as anymail.backends.amazon_ses.EmailBackend).
"""

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

URL_PATTERN = re.compile(r"(https?://[^\s<>\"']+)")


def site_url() -> str:
    return settings.SITE_URL.rstrip("/")


def absolute_url(path: str) -> str:
    """An absolute link for an e-mail: SITE_URL + the path (never the request's host)."""
    return site_url() + path


def brand_context() -> dict:
    return {"site_name": settings.FLOWPORT_SITE_NAME, "site_url": site_url()}


def email_build(*, template: str, subject: str, context: dict, to: list[str]) -> EmailMultiAlternatives:
    context = {**brand_context(), "subject": subject, **context}
    text = render_to_string(f"emails/{template}.txt", context).strip() + "\n"
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, None, to)
    message.attach_alternative(html, "text/html")
    return message


def text_paragraphs(text: str) -> list[list[dict]]:
    """Plain text → paragraphs of parts ({"text"} or {"url"}) for the HTML version of a text e-mail."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        parts = []
        for index, piece in enumerate(URL_PATTERN.split(block)):
            if piece:
                parts.append({"url": piece} if index % 2 else {"text": piece})
        paragraphs.append(parts)
    return paragraphs
