"""The shared pager on the billing and wallet histories: plain links, and htmx swaps of the section."""

import re

import pytest

from tests.wallet.factories import credit, paid_topup

pytestmark = pytest.mark.django_db


def _links(html):
    return {
        label: href.replace("&amp;", "&")
        for href, label in re.findall(r'<a href="([^"]*\?page=\d+)"[^>]*>(Newer|Older)</a>', html)
    }


def test_billing_history_pages_by_ten(user_client, user):
    for _ in range(11):
        paid_topup(user, "5.00")
    first = user_client.get("/console/subscription/").content.decode()
    assert _links(first) == {"Older": "/console/subscription/?page=2"}
    assert "Page 1 of 2" in first
    second = user_client.get("/console/subscription/?page=2", headers={"HX-Request": "true"}).content.decode()
    assert _links(second) == {"Newer": "/console/subscription/?page=1"}
    assert 'hx-target="#billing-history"' in second


def test_wallet_history_pages_by_twenty_and_swaps_only_the_history(user_client, user):
    for _ in range(21):
        credit(user, "1.00")
    first = user_client.get("/console/payg/").content.decode()
    assert _links(first) == {"Older": "?page=2"}
    assert 'hx-get="?page=2&amp;fragment=history"' in first
    assert "Page 1 of 2" in first
