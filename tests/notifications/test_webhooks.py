"""Customer webhooks (issue 18): Standard Webhooks signatures verified with the `standardwebhooks`
package against a local receiver, retries with backoff then disabling, SSRF refusals, resend, the
management API and the console page (re-authentication to create)."""

from datetime import timedelta

import pytest
from django.core import mail
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from apps.notifications import webhooks
from apps.notifications.models import DeliveryStatus, Notification, WebhookDelivery, WebhookEndpoint
from apps.notifications.services import notification_create
from tests.accounts.factories import UserFactory
from tests.helpers import sign_in
from tests.management_api.factories import BASE, management_client
from tests.notifications.receiver import start_receiver

LOW = {"balance_usd": "2.50", "threshold_usd": "3.00"}


@pytest.fixture
def receiver(settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on 127.0.0.1
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def endpoint_for(account, url, events=("wallet.low_balance",)):
    return webhooks.webhook_endpoint_create(account=account, url=url, events=list(events))


def fire(account, django_capture_on_commit_callbacks, kind="wallet.low_balance", data=LOW):
    with django_capture_on_commit_callbacks(execute=True):
        return notification_create(account=account, kind=kind, data=data)


@pytest.mark.django_db
def test_a_delivery_is_signed_per_standard_webhooks_and_verifies(
    user, receiver, django_capture_on_commit_callbacks
):
    created = endpoint_for(user, receiver.url)
    assert created.secret.startswith("whsec_")
    notification = fire(user, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = Webhook(created.secret).verify(
        request.body, request.headers
    )  # raises if the signature is wrong
    assert payload["type"] == "wallet.low_balance"
    assert payload["data"] == {"id": str(notification.public_id), **LOW}
    assert request.headers["webhook-signature"].startswith("v1,")
    assert created.secret.removeprefix("whsec_") not in request.body.decode()
    with pytest.raises(WebhookVerificationError):  # another secret does not verify
        Webhook(webhooks.webhook_secret_generate()).verify(request.body, request.headers)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.status_code, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 200, 1)
    assert delivery.message_id == request.headers["webhook-id"]
    assert delivery.latency_ms is not None


@pytest.mark.django_db
def test_only_endpoints_that_chose_the_event_and_accounts_own_receive_it(
    user, receiver, django_capture_on_commit_callbacks
):
    endpoint_for(user, receiver.url, events=["security.api_key_created"])
    endpoint_for(UserFactory(), receiver.url)
    fire(user, django_capture_on_commit_callbacks)
    assert receiver.requests == []
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_backoff_for_about_a_day_then_disabled(
    user, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    created = endpoint_for(user, receiver.url)
    fire(user, django_capture_on_commit_callbacks)  # first attempt at once
    delivery = WebhookDelivery.objects.get()
    delays = []
    while delivery.status == DeliveryStatus.RETRYING:
        due = delivery.next_attempt_at
        delays.append(due - delivery.last_attempt_at)
        # Not before it is due (a task delivered early or twice changes nothing).
        assert (
            webhooks.webhook_delivery_attempt(delivery_id=delivery.pk, now=due - timedelta(seconds=1)) is None
        )
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_delivery_attempt(delivery_id=delivery.pk, now=due)
        delivery.refresh_from_db()

    assert delays == list(webhooks.RETRY_DELAYS)
    assert timedelta(hours=20) < sum(delays, timedelta()) < timedelta(hours=28)
    assert (delivery.status, delivery.attempts, delivery.status_code) == (DeliveryStatus.FAILED, 8, 500)
    assert delivery.error == "HTTP 500"
    assert len(receiver.requests) == 8
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery.message_id}
    endpoint = created.endpoint
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.disabled_at is not None
    owner_notice = Notification.objects.get(account=user, kind="webhook.endpoint_disabled")
    assert owner_notice.data == {"url": receiver.url}
    assert any("webhook endpoint was disabled" in message.subject for message in mail.outbox)
    # A disabled endpoint gets nothing more until it is enabled again.
    fire(user, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 8


@pytest.mark.django_db
def test_resend_sends_the_same_message_again(user, receiver, django_capture_on_commit_callbacks):
    endpoint_for(user, receiver.url)
    fire(user, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_delivery_resend(account=user, delivery_id=delivery.pk)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert receiver.requests[1].headers["webhook-id"] == delivery.message_id
    with pytest.raises(webhooks.NotFoundError):
        webhooks.webhook_delivery_resend(account=UserFactory(), delivery_id=delivery.pk)


@pytest.mark.django_db
def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    user, receiver, settings, django_capture_on_commit_callbacks
):
    settings.FLOWPORT_WEBHOOK_TIMEOUT_SECONDS = 0.2  # production: 10 s
    receiver.delay = 1.0
    endpoint_for(user, receiver.url)
    fire(user, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.status_code, delivery.error) == (
        DeliveryStatus.RETRYING,
        None,
        "Timed out",
    )


REFUSED = [
    "http://127.0.0.1:8000/hook",
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",
    "ftp://93.184.215.14/hook",
    "https://user:secret@93.184.215.14/hook",
    "not a url",
    "https://" + "a" * 500 + ".example.com/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_and_link_local_urls_are_refused_in_production(user, settings, url):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    with pytest.raises(webhooks.WebhookUrlRefused):
        endpoint_for(user, url)
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_a_public_address_is_accepted(user, settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    created = endpoint_for(user, "https://93.184.215.14/hooks")  # an address literal: no DNS needed
    assert created.endpoint.url == "https://93.184.215.14/hooks"


@pytest.mark.django_db
def test_an_address_that_became_private_is_refused_at_delivery(
    user, receiver, settings, django_capture_on_commit_callbacks
):
    endpoint_for(user, receiver.url)
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False  # e.g. DNS now points inside
    fire(user, django_capture_on_commit_callbacks)
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.error == "Enter an https:// URL."  # plain http and private addresses: refused


@pytest.mark.django_db
def test_management_api_creates_lists_and_deletes_endpoints(user, settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    client, _key = management_client(user)
    response = client.post(
        BASE + "webhooks/endpoints",
        {"url": "https://93.184.215.14/hooks", "events": ["quota.threshold", "wallet.low_balance"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["secret"].startswith("whsec_")
    assert data["events"] == ["quota.threshold", "wallet.low_balance"]
    listed = client.get(BASE + "webhooks/endpoints").json()["data"]["endpoints"]
    assert [item["id"] for item in listed] == [data["id"]]
    assert "secret" not in listed[0]  # shown once

    other_client, _ = management_client(UserFactory())
    assert other_client.delete(BASE + f"webhooks/endpoints/{data['id']}").status_code == 404
    assert client.delete(BASE + f"webhooks/endpoints/{data['id']}").json() == {
        "success": True,
        "data": {"deleted": True},
    }
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://10.0.0.1/hook", "events": ["wallet.low_balance"]},
        {"url": "https://93.184.215.14/hook", "events": []},
        {"url": "https://93.184.215.14/hook", "events": ["nope"]},
        {"url": "https://93.184.215.14/hook", "events": ["webhook.endpoint_disabled"]},
        {"url": "x" * 600, "events": ["wallet.low_balance"]},
        {"events": ["wallet.low_balance"]},
    ],
)
def test_management_api_refuses_bad_input_with_400_and_creates_nothing(user, settings, body):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    client, _key = management_client(user)
    response = client.post(BASE + "webhooks/endpoints", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_the_console_asks_to_reauthenticate_before_creating_an_endpoint(client, user, password, settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    form = {"url": "https://93.184.215.14/hooks", "events": ["wallet.low_balance"], "description": "prod"}
    client.force_login(user)  # a session without a recent password entry
    response = client.post("/console/webhooks/create/", form)
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"]
    assert WebhookEndpoint.objects.count() == 0

    # Entering the password again (allauth's re-authentication) resumes the creation.
    confirmed = client.post(response["Location"], {"password": password})
    assert confirmed.status_code == 200
    page = confirmed.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in page  # shown once, on creation
    assert endpoint.secret not in client.get("/console/webhooks/").content.decode()
    detail = client.get(f"/console/webhooks/{endpoint.public_id}/")
    assert detail.status_code == 200 and "https://93.184.215.14/hooks" in detail.content.decode()
    assert client.get(f"/console/webhooks/{endpoint.public_id}/").status_code == 200
    other = UserFactory()
    client.force_login(other)
    assert client.get(f"/console/webhooks/{endpoint.public_id}/").status_code == 404
    assert client.post(f"/console/webhooks/{endpoint.public_id}/delete/").status_code == 404
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db
def test_a_fresh_sign_in_counts_as_recent_authentication_for_creating_an_endpoint(client, user, settings):
    """The same rule as every sensitive console action (apps/console/decorators.py `sensitive_action`)."""
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    form = {"url": "https://93.184.215.14/hooks", "events": ["wallet.low_balance"], "description": "prod"}
    sign_in(client, user, seconds_ago=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60)  # too long ago
    response = client.post("/console/webhooks/create/", form)
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"]
    assert WebhookEndpoint.objects.count() == 0

    sign_in(client, user)  # just signed in: no second password prompt
    response = client.post("/console/webhooks/create/", form)
    assert response.status_code == 200
    assert WebhookEndpoint.objects.get().secret in response.content.decode()


@pytest.mark.django_db
def test_the_console_refuses_a_private_url_with_a_form_error(client, user, password, settings):
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False
    client.force_login(user)
    asked = client.post("/console/webhooks/create/", {})
    client.post(asked["Location"], {"password": password})
    response = client.post(
        "/console/webhooks/create/", {"url": "https://10.1.2.3/x", "events": ["wallet.low_balance"]}
    )
    assert response.status_code == 200
    assert "private" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.django_db
def test_staff_see_endpoints_and_deliveries_in_admin_without_the_secret(
    admin_client, user, receiver, django_capture_on_commit_callbacks
):
    created = endpoint_for(user, receiver.url)
    fire(user, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    for path in (
        "/admin/notifications/webhookendpoint/",
        f"/admin/notifications/webhookendpoint/{created.endpoint.pk}/change/",
        "/admin/notifications/webhookdelivery/",
        f"/admin/notifications/webhookdelivery/{delivery.pk}/change/",
        "/admin/notifications/notification/",
    ):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert created.secret not in response.content.decode()


@pytest.mark.django_db
def test_the_console_delivery_log_resends_and_enables(
    client, user, receiver, django_capture_on_commit_callbacks
):
    created = endpoint_for(user, receiver.url)
    fire(user, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    client.force_login(user)
    page = client.get(f"/console/webhooks/{created.endpoint.public_id}/").content.decode()
    assert 'data-testid="delivery"' in page and "wallet.low_balance" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/console/webhooks/{created.endpoint.public_id}/resend/", {"delivery": str(delivery.pk)}
        )
    assert response.status_code == 302
    assert len(receiver.requests) == 2

    WebhookEndpoint.objects.filter(pk=created.endpoint.pk).update(enabled=False)
    response = client.post(
        f"/console/webhooks/{created.endpoint.public_id}/resend/", {"delivery": str(delivery.pk)}, follow=True
    )
    assert "Enable the endpoint again before resending." in response.content.decode()
    assert len(receiver.requests) == 2
    client.post(f"/console/webhooks/{created.endpoint.public_id}/enable/")
    assert WebhookEndpoint.objects.get(pk=created.endpoint.pk).enabled is True
    assert client.post(f"/console/webhooks/{created.endpoint.public_id}/nope/").status_code == 404
    assert (
        client.post(f"/console/webhooks/{created.endpoint.public_id}/resend/", {"delivery": "x"}).status_code
        == 404
    )


@pytest.mark.django_db
def test_the_task_schedules_the_next_attempt_at_its_backoff_time(user, receiver, monkeypatch):
    """With a worker, a failed attempt re-enqueues the task with eta = the delivery's next attempt."""
    from apps.notifications import tasks

    receiver.status = 503
    endpoint_for(user, receiver.url)
    notification_create(account=user, kind="wallet.low_balance", data=LOW)  # on_commit not run: pending
    delivery = WebhookDelivery.objects.get()
    scheduled = []
    monkeypatch.setattr(
        tasks.webhook_delivery_attempt_task, "apply_async", lambda args, eta: scheduled.append((args, eta))
    )
    assert tasks.webhook_delivery_attempt_task.run(delivery.pk) == DeliveryStatus.RETRYING
    delivery.refresh_from_db()
    assert scheduled == [((delivery.pk,), delivery.next_attempt_at)]
    assert delivery.next_attempt_at - delivery.last_attempt_at == webhooks.RETRY_DELAYS[0]
    # The beat job finds it once it is due, not before.
    assert webhooks.webhook_deliveries_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == []
    assert webhooks.webhook_deliveries_due(now=delivery.next_attempt_at) == [delivery.pk]


@pytest.mark.django_db
def test_the_attempt_connects_to_the_address_that_was_checked(
    user, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """Name → address once per attempt, checked, then connected to: the Host header keeps the name."""
    import socket

    real = socket.getaddrinfo
    port = int(receiver.url.split(":")[2].split("/")[0])
    answers = []

    def resolve(host, *args, **kwargs):
        if host == "hooks.customer.test":
            answers.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint_for(user, f"http://hooks.customer.test:{port}/hooks?source=flowport")
    fire(user, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["host"] == f"hooks.customer.test:{port}"
    assert answers == ["hooks.customer.test", "hooks.customer.test"]  # on saving, and once for the attempt


def _tls_context(tmp_path):
    """A TLS server context with a self-signed certificate for 127.0.0.1; returns (context, cert path)."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert = tmp_path / "cert.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, tmp_path / "key.pem")
    return context, cert


@pytest.mark.django_db
@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_https_receivers_are_verified_against_the_ca_bundle(
    user, settings, tmp_path, trusted, django_capture_on_commit_callbacks
):
    context, cert = _tls_context(tmp_path)
    settings.FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = True
    if trusted:
        settings.FLOWPORT_WEBHOOK_CA_BUNDLE = str(cert)
    receiver, server = start_receiver(tls_context=context)
    try:
        created = endpoint_for(user, receiver.url)
        fire(user, django_capture_on_commit_callbacks)
    finally:
        server.shutdown()
        server.server_close()
    delivery = WebhookDelivery.objects.get()
    if trusted:
        assert delivery.status == DeliveryStatus.SUCCEEDED
        request = receiver.requests[0]
        assert Webhook(created.secret).verify(request.body, request.headers)["type"] == "wallet.low_balance"
    else:  # a certificate nobody vouches for: nothing is sent
        assert receiver.requests == []
        assert (delivery.status, delivery.status_code, delivery.error) == (
            DeliveryStatus.RETRYING,
            None,
            "SSLError",
        )
