"""allauth's account adapter (SETTINGS: ACCOUNT_ADAPTER).

- Sign-up creates the account through `account_create` and keeps the language it signed up in.
- allauth's e-mails go out branded (HTML + text, apps/core/emails.py), in the account's language, with
  the site's name (not the request's host) and links built from SITE_URL.
"""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.utils import translation

from apps.accounts.models import User
from apps.accounts.services import account_create, account_login_locked
from apps.core.emails import email_build, site_url, text_paragraphs


def _supported_language(code: str | None) -> str:
    try:
        return translation.get_supported_language_variant(code or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)  # fills in e-mail and password
        user.preferred_language = _supported_language(translation.get_language())
        if commit:
            account_create(email=user.email, account=user)
        return user

    def pre_authenticate(self, request, **credentials):
        """allauth's login rate limits (ACCOUNT_RATE_LIMITS); a refusal tells the address's owner."""
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            account_login_locked(email=credentials.get("email", ""), ip=self.get_client_ip(request) or "")
            raise

    def format_email_subject(self, subject: str) -> str:
        return f"{settings.FLOWPORT_SITE_NAME}: {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        account = User.objects.filter(email__iexact=email).only("preferred_language").first()
        language = account.preferred_language if account else translation.get_language()
        site = SimpleNamespace(name=settings.FLOWPORT_SITE_NAME, domain=site_url().split("://", 1)[-1])
        with translation.override(_supported_language(language)):
            super().send_mail(template_prefix, email, {"current_site": site, **context})

    def render_mail(self, template_prefix, email, context, headers=None):
        message = super().render_mail(template_prefix, email, context, headers=headers)
        text = message.body
        request = context.get("request")
        if request is not None:  # allauth builds links from the request's host: use SITE_URL instead
            text = text.replace(request.build_absolute_uri("/"), site_url() + "/")
        branded = email_build(
            template="account",
            subject=message.subject,
            context={"text": text, "paragraphs": text_paragraphs(text)},
            to=message.to,
        )
        branded.from_email = message.from_email
        branded.extra_headers = message.extra_headers
        return branded
