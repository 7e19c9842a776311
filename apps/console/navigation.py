"""Console navigation. An entry shows only once its page exists (its URL name resolves)."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

CONSOLE_NAV = [
    ("console:home", _("Overview")),
    ("console:subscription", _("Subscription")),
    ("console:payg", _("Pay-as-you-go")),
    ("console:usage", _("Usage")),
    ("console:management_keys", _("Management keys")),
    ("console:activity", _("Activity")),
    ("console:account", _("Account settings")),
    ("console:notifications", _("Notifications")),
    ("console:webhooks", _("Webhooks")),
]


def console_nav(current_path: str) -> list[dict]:
    items = []
    for name, label in CONSOLE_NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": current_path == url})
    return items
