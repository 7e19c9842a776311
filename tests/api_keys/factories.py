from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_create


def make_key(*, account, kind=ApiKeyKind.SUBSCRIPTION, name="Key"):
    """Create a key through the service (the only way keys come to exist); returns (key, secret)."""
    return api_key_create(account=account, kind=kind, name=name)
