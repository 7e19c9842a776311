import factory

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_create
from tests.accounts.factories import UserFactory


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A key made through the service (the only way keys come to exist); its secret is `key.secret`.

    Traits: `ApiKeyFactory(payg=True)`, `ApiKeyFactory(management=True)`.
    """

    class Meta:
        model = ApiKey

    account = factory.SubFactory(UserFactory)
    kind = ApiKeyKind.SUBSCRIPTION
    name = "Key"

    class Params:
        payg = factory.Trait(kind=ApiKeyKind.PAYG)
        management = factory.Trait(kind=ApiKeyKind.MANAGEMENT)

    @classmethod
    def _create(cls, model_class, *args, account, kind, name, **kwargs):
        key, secret = api_key_create(account=account, kind=kind, name=name, **kwargs)
        key.secret = secret
        return key


def make_key(*, account, kind=ApiKeyKind.SUBSCRIPTION, name="Key"):
    """A key and its secret: (key, secret)."""
    key = ApiKeyFactory(account=account, kind=kind, name=name)
    return key, key.secret
