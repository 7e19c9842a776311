"""HTMX actions report their outcome in HX-Trigger (a toast by the control), not in the next page's
message list (apps/console/middleware.HtmxToastMiddleware)."""

import json

import pytest

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db


def toasts(response) -> list[dict]:
    return json.loads(response["HX-Trigger"])["flowport:toast"]["messages"]


def test_an_htmx_action_sends_its_message_as_a_toast_and_leaves_none_for_the_next_page(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    response = user_client.post(
        "/console/extra-usage/enable/", {"payg_key": key.pk}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert toasts(response) == [{"level": "success", "text": "Extra Usage is on."}]
    assert "Extra Usage is on." not in user_client.get("/console/subscription/").content.decode()


def test_a_chinese_toast_is_in_chinese(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    user_client.post(
        "/zh-hans/console/extra-usage/enable/", {"payg_key": key.pk}, headers={"HX-Request": "true"}
    )
    response = user_client.post("/zh-hans/console/extra-usage/disable/", headers={"HX-Request": "true"})
    assert toasts(response) == [{"level": "success", "text": "额外用量已关闭。"}]


def test_an_error_is_a_toast_of_level_error(user_client):
    response = user_client.post(
        "/console/subscription/upgrade/", {"plan": "nonsense"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    [toast] = toasts(response)
    assert toast["level"] == "error"
    assert toast["text"]


def test_a_plain_post_keeps_the_message_for_the_next_page(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="spare")
    response = user_client.post("/console/extra-usage/enable/", {"payg_key": key.pk})
    assert response.status_code == 302
    assert "HX-Trigger" not in response
    assert "Extra Usage is on." in user_client.get(response.url).content.decode()


def test_an_existing_trigger_is_kept(rf, user):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

    from apps.console.middleware import HtmxToastMiddleware

    def view(request):
        from django.contrib import messages

        messages.info(request, "Saved.")
        response = HttpResponse("ok")
        response["HX-Trigger"] = "keysChanged"
        return response

    request = rf.post("/", headers={"HX-Request": "true"})
    request.session = {}
    request._messages = FallbackStorage(request)
    request.htmx = HtmxDetails(request)
    response = HtmxToastMiddleware(view)(request)
    assert json.loads(response["HX-Trigger"]) == {
        "keysChanged": None,
        "flowport:toast": {"messages": [{"level": "info", "text": "Saved."}]},
    }
