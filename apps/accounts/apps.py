from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from allauth.account import signals as account_signals
        from allauth.mfa import signals as mfa_signals

        from apps.accounts import receivers

        account_signals.user_logged_in.connect(receivers.on_logged_in, dispatch_uid="flowport_logged_in")
        account_signals.password_changed.connect(
            receivers.on_password_changed, dispatch_uid="flowport_pw_changed"
        )
        account_signals.password_reset.connect(receivers.on_password_reset, dispatch_uid="flowport_pw_reset")
        mfa_signals.authenticator_added.connect(
            receivers.on_authenticator_added, dispatch_uid="flowport_mfa_added"
        )
        mfa_signals.authenticator_removed.connect(
            receivers.on_authenticator_removed, dispatch_uid="flowport_mfa_removed"
        )

        from apps.accounts import jobs, tasks
        from apps.core.side_effects import enqueue_safely

        jobs.login_lockout_notice_due.register(
            lambda *, account_id, ip: enqueue_safely(tasks.account_send_login_lockout, account_id, ip)
        )
