"""Strings a Chinese user met in English (issue 19): each is rendered here on a /zh-hans/ page."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import translation

from apps.billing.models import PaymentPurpose
from apps.billing.services import payment_succeed
from apps.wallet.services.ledger import DESCRIPTION_TOPUP
from tests.billing.factories import PaymentFactory, PaymentMethodFactory

pytestmark = pytest.mark.django_db


def test_password_too_short_error_is_in_chinese(client):
    response = client.post(
        "/zh-hans/accounts/signup/",
        {"email": "new@example.com", "password1": "q7#Zk", "password2": "q7#Zk"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "密码长度太短。密码必须包含至少 8 个字符。" in html
    assert "too short" not in html


def test_password_too_short_error_stays_english_on_english_pages(client):
    response = client.post(
        "/accounts/signup/", {"email": "new@example.com", "password1": "q7#Zk", "password2": "q7#Zk"}
    )
    assert "This password is too short. It must contain at least 8 characters." in response.content.decode()


def test_saved_card_is_named_in_chinese(user_client, user):
    PaymentMethodFactory(account=user, brand="card", last4="4242")
    html = user_client.get("/zh-hans/console/payg/").content.decode()
    assert '<strong data-testid="payment-method">银行卡 •••• 4242</strong>' in html
    english = user_client.get("/console/payg/").content.decode()
    assert '<strong data-testid="payment-method">Card •••• 4242</strong>' in english


def test_billing_history_translates_a_stored_english_description(user_client, user):
    payment = PaymentFactory(
        account=user,
        purpose=PaymentPurpose.TOPUP,
        amount_usd=Decimal("100.00"),
        description=DESCRIPTION_TOPUP,
    )
    payment_succeed(payment_id=payment.pk)
    html = user_client.get("/zh-hans/console/subscription/").content.decode()
    assert "<td>按量付费充值</td>" in html
    assert "Pay-as-you-go top-up" not in html
    assert "<td>Pay-as-you-go top-up</td>" in user_client.get("/console/subscription/").content.decode()


@override_settings(DEBUG=False)
def test_production_404_page_is_in_chinese(user_client):
    response = user_client.get("/zh-hans/console/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-404"' in html
    assert "<h1>页面未找到</h1>" in html and ">返回控制台</a>" in html
    assert "Page not found" not in html


@override_settings(DEBUG=False)
def test_production_404_page_in_english(client):
    response = client.get("/console/no-such-page/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_500_page_is_in_chinese():
    with translation.override("zh-hans"):
        html = render_to_string("500.html")
    assert "<h1>出错了</h1>" in html and "无法完成您的请求，请稍后再试。" in html
    assert '<html lang="zh-hans"' in html


@pytest.mark.parametrize(("language", "text"), [("en", "Access denied"), ("zh-hans", "无权访问")])
def test_a_forbidden_page_is_branded_with_a_way_back(rf, language, text):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    with translation.override(language):
        response = permission_denied(rf.get("/"), PermissionDenied())
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="error-403"' in html and f"<h1>{text}</h1>" in html
    assert 'href="/console/"' in html or 'href="/zh-hans/console/"' in html


@pytest.mark.django_db
def test_pages_link_a_favicon_and_pricing_marks_the_current_plan(user_client, user):
    from tests.plans.factories import put_on_plan

    put_on_plan(user, "max")
    html = user_client.get("/pricing/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    current = html.split('data-testid="current-plan"')
    assert len(current) == 2
    assert 'data-plan-card="max"' in current[0].rsplit("<article", 1)[1]
