"""Admin (issue 19 item 9): the site says Flowport, and an account's page links its subscription, wallet,
keys and refunds — admin changelists filtered to that account."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone, translation

from apps.api_keys.models import ApiKeyKind
from apps.refunds.services import refund_request
from apps.wallet.models import Wallet
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.refunds.factories import paid_cycle


@pytest.mark.django_db
def test_the_admin_header_and_title_say_flowport(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert '<a href="/admin/">Flowport administration</a>' in page
    assert "<title>Flowport administration | Flowport admin</title>" in page
    assert "Django administration" not in page


def test_the_admin_header_is_translated():
    with translation.override("zh-hans"):
        assert (str(admin.site.site_header), str(admin.site.site_title)) == (
            "Flowport 管理后台",
            "Flowport 管理",
        )


@pytest.mark.django_db
def test_the_account_page_links_its_records_filtered_to_the_account(
    staff_client, user, django_capture_on_commit_callbacks
):
    other = UserFactory()
    for account in (user, other):
        paid_cycle(account, "pro", paid_at=timezone.now() - timedelta(hours=2))
        make_key(account=account, kind=ApiKeyKind.SUBSCRIPTION, name="backend")
        make_key(account=account, kind=ApiKeyKind.PAYG, name="notebook")
        Wallet.objects.get_or_create(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        refund_request(account=user)

    page = staff_client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    links = dict(
        (record, href.replace("&amp;", "&"))
        for href, record in re.findall(r'<a href="([^"]+)" data-record="([^"]+)">', page)
    )
    assert links == {
        "plans_subscription": f"/admin/plans/subscription/?account__id__exact={user.pk}",
        "wallet_wallet": f"/admin/wallet/wallet/?account__id__exact={user.pk}",
        "api_keys_apikey": f"/admin/api_keys/apikey/?account__id__exact={user.pk}",
        "refunds_refund": f"/admin/refunds/refund/?account__id__exact={user.pk}",
    }
    counts = {}
    for record, href in links.items():
        response = staff_client.get(href)
        assert response.status_code == 200, href
        changelist = response.context["cl"]
        assert {row.account_id for row in changelist.result_list} == {user.pk}, record
        counts[record] = changelist.result_count
    assert counts == {"plans_subscription": 1, "wallet_wallet": 1, "api_keys_apikey": 2, "refunds_refund": 1}
