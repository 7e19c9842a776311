"""Every console page as a signed-in Chinese user: no catalogued string is rendered in English (issue 19).

The pages are the console's own plus every console page they link to (key details, refund details…), for
an account with a paid, upgraded and refunded cycle, keys of every kind, usage and wallet history. A text
on the page that is exactly a catalogue msgid whose Chinese msgstr differs means a string was left out of
the translation at render time (e.g. stored in English and shown as is)."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.refunds.services import refund_request
from tests.api_keys.factories import make_key
from tests.notifications.factories import endpoint_with_failed_delivery
from tests.refunds.factories import paid_cycle, upgrade_payment

START = [
    "/console/",
    "/console/subscription/",
    "/console/payg/",
    "/console/usage/",
    "/console/management-keys/",
    "/console/account/",
    "/console/activity/",
    "/console/notifications/",
    "/console/notifications/preferences/",
    "/console/webhooks/",
]
MAX_PAGES = 40
PREFIX = "/zh-hans"


def catalogue() -> set[str]:
    """English msgids whose Chinese differs, without placeholders (those never appear verbatim)."""
    text = (Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    english = set()
    for block in text.split("\n\n"):
        msgid = "".join(
            re.findall(r'^(?:msgid )?"(.*)"$', block.split("msgstr")[0].split("msgid ", 1)[-1], re.M)
        )
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr", 1)[-1])) if "msgstr" in block else ""
        if (
            msgid
            and msgstr
            and msgid != msgstr
            and "%" not in msgid
            and "{" not in msgid
            and re.search("[a-z]{3}", msgid)
        ):
            english.add(msgid.replace('\\"', '"'))
    return english


CODE = ("script", "style", "code", "pre", "template")


class Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts, self.links, self.skip, self.in_other_language = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Not checked: code and scripts, and a button in another language (the switcher's "English").
        if tag in CODE or (tag == "button" and attrs.get("lang", "zh")[:2] != "zh"):
            self.skip += 1
            self.in_other_language = self.in_other_language or tag == "button"
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in CODE or (tag == "button" and self.in_other_language):
            self.skip -= 1
            self.in_other_language = self.in_other_language and tag != "button"

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.texts.append(" ".join(data.split()))


@pytest.mark.django_db
def test_no_catalogued_string_is_rendered_in_english_on_chinese_pages(
    client, user, settings, django_capture_on_commit_callbacks
):
    paid_at = timezone.now() - timedelta(hours=3)
    paid_cycle(user, "pro", paid_at=paid_at)
    upgrade_payment(user, to="max", amount="80.00", paid_at=paid_at + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        refund_request(account=user)
    paid_cycle(user, "max", paid_at=timezone.now() - timedelta(hours=1))
    for kind in (ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG, ApiKeyKind.MANAGEMENT):
        make_key(account=user, kind=kind, name=f"{kind} key")
    call_command("simulate_traffic", email=[user.email], days=1, verbosity=0)
    endpoint_with_failed_delivery(user, settings)
    client.force_login(user)
    english = catalogue()
    queue, seen, found = list(START), set(START), {}
    while queue and len(seen) <= MAX_PAGES:
        path = queue.pop(0)
        response = client.get(PREFIX + path)
        assert response.status_code == 200, path
        if not response["Content-Type"].startswith("text/html"):  # a PDF receipt
            continue
        parser = Text()
        parser.feed(response.content.decode())
        left = sorted({text for text in parser.texts if text in english})
        if left:
            found[path] = left
        for href in parser.links:
            target = urlsplit(href)
            local = target.path.removeprefix("/zh-hans")
            if not target.netloc and local.startswith("/console/") and not local.endswith(".csv"):
                url = local + (f"?{target.query}" if target.query else "")
                if url not in seen:
                    seen.add(url)
                    queue.append(url)
    assert len(seen) > len(START)
    assert found == {}
