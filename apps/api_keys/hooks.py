"""What other apps may attach to the key lifecycle (handlers registered in their AppConfig.ready())."""

from apps.core.hooks import Hook

# send(key=<ApiKey>, deleted=<bool>, now=<datetime | None>) inside the transaction that disables or
# deletes the key (extra_usage: Extra Usage billing through that key turns off).
api_key_unusable = Hook("api_keys.api_key_unusable")
