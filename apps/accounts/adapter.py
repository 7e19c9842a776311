"""allauth's account adapter: sign-up creates the account through `account_create` (SETTINGS: ACCOUNT_ADAPTER)."""

from allauth.account.adapter import DefaultAccountAdapter

from apps.accounts.services import account_create


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)  # fills in e-mail and password
        if commit:
            account_create(email=user.email, account=user)
        return user
