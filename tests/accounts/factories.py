import factory

from apps.accounts.models import User
from apps.accounts.services import account_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "Flowport-pass-2026!")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return account_create(**kwargs)  # as every account is created: with its Free subscription

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
