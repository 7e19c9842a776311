from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The web interface: every customer-facing HTML page, its URLs, navigation and page selectors.

    The top layer: it imports domain apps; no domain app imports it.
    """

    name = "apps.console"
    verbose_name = _("Console")
