from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "apps.plans"
    verbose_name = _("Plans and catalog")

    def ready(self):
        from apps.plans import payment_handlers

        payment_handlers.register()
