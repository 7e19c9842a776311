"""allauth's signals → one service call each (connected in AccountsConfig.ready())."""

from allauth.account.adapter import get_adapter

from apps.accounts.services import account_record_security_event


def _ip(request) -> str:
    return (get_adapter(request).get_client_ip(request) or "")[:45] if request is not None else ""


def on_logged_in(sender, request, user, **kwargs):
    account_record_security_event(account=user, event_type="account.logged_in", details={"ip": _ip(request)})


def on_password_changed(sender, request, user, **kwargs):
    account_record_security_event(account=user, event_type="account.password_changed")


def on_password_reset(sender, request, user, **kwargs):
    account_record_security_event(account=user, event_type="account.password_reset")


def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    account_record_security_event(
        account=user, event_type="mfa.authenticator_added", details={"type": authenticator.type}
    )


def on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    account_record_security_event(
        account=user, event_type="mfa.authenticator_removed", details={"type": authenticator.type}
    )
