"""allauth's account adapter: sign-up creates the account through `account_create` (SETTINGS: ACCOUNT_ADAPTER)."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms

from apps.accounts.services import account_create, account_login_locked


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)  # fills in e-mail and password
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
