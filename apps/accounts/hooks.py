"""What other apps may attach to the account lifecycle (handlers registered in their AppConfig.ready())."""

from apps.core.hooks import Hook

# account_create() calls it inside its transaction with `account=<new User>`; plans gives the account
# its Free subscription here, so every account has exactly one subscription from the moment it exists.
account_created = Hook("accounts.account_created")

# account_delete() calls it inside its transaction, on the locked account, with `account=<User>, now=<datetime>`,
# before the personal data is anonymised. Each app closes what it holds (plans: subscription to Free and the
# provider's subscription canceled after commit; api_keys: every key deleted; wallet: auto top-up and alerts
# off; billing: saved cards removed) and returns a dict of facts for the audit event (no personal data).
account_closing = Hook("accounts.account_closing")

# invoice_details_update() calls it inside its transaction with `account=<User>`: billing sends the details
# to the payment provider's customer after commit.
invoice_details_changed = Hook("accounts.invoice_details_changed")
