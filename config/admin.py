"""The Django admin site: Flowport's own sections first (in layer order), dj-stripe's grouped last."""

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class FlowportAdminSite(admin.AdminSite):
    site_header = _("Flowport administration")
    site_title = _("Flowport admin")
    index_title = _("Flowport administration")

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        order = {config.label: index for index, config in enumerate(apps.get_app_configs())}

        def key(section):
            name = apps.get_app_config(section["app_label"]).name
            if name.startswith("apps."):
                group = 0
            elif name.startswith("djstripe"):
                group = 2
            else:
                group = 1
            return (
                group,
                order.get(section["app_label"], len(order)) if group == 0 else section["name"].lower(),
            )

        return sorted(app_list, key=key)


class FlowportAdminConfig(AdminConfig):
    default_site = "config.admin.FlowportAdminSite"
