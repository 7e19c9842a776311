"""Each hook a lower app declares is answered by the upper app that owns the state (AppConfig.ready())."""

from apps.accounts.hooks import account_created
from apps.api_keys.hooks import api_key_unusable
from apps.billing import hooks as billing_hooks
from apps.extra_usage.services import extra_usage_on_key_unusable
from apps.plans import provider_handlers
from apps.plans.hooks import upgrade_check
from apps.plans.services import subscription_create_free
from apps.refunds.services import refund_in_progress_refuse_upgrade, refund_part_update


def test_upper_apps_register_their_handlers_on_the_lower_apps_hooks():
    assert account_created.handlers == (subscription_create_free,)
    assert billing_hooks.provider_subscription_owner.handlers == (provider_handlers.subscription_owner,)
    assert billing_hooks.provider_subscription_changed.handlers == (
        provider_handlers.on_provider_subscription_changed,
    )
    assert billing_hooks.provider_subscription_ended.handlers == (
        provider_handlers.on_provider_subscription_ended,
    )
    assert billing_hooks.provider_refund_changed.handlers == (refund_part_update,)
    assert upgrade_check.handlers == (refund_in_progress_refuse_upgrade,)
    assert api_key_unusable.handlers == (extra_usage_on_key_unusable,)
