from django.db.models import QuerySet

from apps.api_keys.exceptions import ApiKeyNotFound
from apps.api_keys.models import ApiKey


def api_key_list(*, account, kind: str) -> QuerySet[ApiKey]:
    """The account's keys of one kind that people may see (deleted keys never show)."""
    return ApiKey.objects.live().filter(account=account, kind=kind).order_by("created_at", "id")


def api_key_get(*, account, key_id) -> ApiKey:
    """One live key of this account; anything else (another account's, deleted, missing) is not found."""
    try:
        return ApiKey.objects.live().get(account=account, pk=int(key_id))
    except (ApiKey.DoesNotExist, TypeError, ValueError) as error:
        raise ApiKeyNotFound() from error
