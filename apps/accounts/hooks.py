"""What other apps may attach to the account lifecycle (handlers registered in their AppConfig.ready())."""

from apps.core.hooks import Hook

# account_create() calls it inside its transaction with `account=<new User>`; plans gives the account
# its Free subscription here, so every account has exactly one subscription from the moment it exists.
account_created = Hook("accounts.account_created")
