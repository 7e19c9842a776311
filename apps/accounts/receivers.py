from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.models import User
from apps.plans.services import subscription_ensure


@receiver(post_save, sender=User, dispatch_uid="accounts_user_created_subscription")
def user_created(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        subscription_ensure(account=instance)
