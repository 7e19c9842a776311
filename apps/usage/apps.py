from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _catalog_changed(sender, **kwargs):
    from apps.usage.hotcache import metering_stamp_bump

    metering_stamp_bump()


class UsageConfig(AppConfig):
    name = "apps.usage"
    verbose_name = _("Usage metering")

    def ready(self):
        from apps.plans.models import CatalogModel, FlowRate, Plan

        # Staff edits of what the metering hot path caches per process (usage/hotcache.py).
        for model in (CatalogModel, FlowRate, Plan):
            post_save.connect(
                _catalog_changed, sender=model, dispatch_uid=f"metering-stamp-save-{model.__name__}"
            )
            post_delete.connect(
                _catalog_changed, sender=model, dispatch_uid=f"metering-stamp-del-{model.__name__}"
            )
