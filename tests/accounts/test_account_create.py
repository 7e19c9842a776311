"""One account-creation service: every way an account comes to exist gives it exactly one Free subscription."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.hooks import account_created
from apps.accounts.models import User
from apps.accounts.services import account_create
from apps.plans.models import Subscription

pytestmark = pytest.mark.django_db


def _only_subscription(account) -> Subscription:
    subscriptions = list(Subscription.objects.filter(account=account).select_related("plan"))
    assert len(subscriptions) == 1
    return subscriptions[0]


def test_account_create_gives_exactly_one_free_subscription_for_a_month():
    account = account_create(email="New.Person@Example.com", password="Flowport-pass-2026!", name="New")
    assert account.email == "new.person@example.com"
    assert account.check_password("Flowport-pass-2026!")
    subscription = _only_subscription(account)
    assert subscription.plan.tier == "free"
    assert subscription.status == "active"
    assert subscription.scheduled_plan is None
    start, end = subscription.current_period_start, subscription.current_period_end
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1


def test_create_user_and_createsuperuser_go_through_the_service():
    customer = User.objects.create_user("c@example.com", "Flowport-pass-2026!")
    call_command("createsuperuser", "--noinput", email="s@example.com", verbosity=0)
    staff = User.objects.get(email="s@example.com")
    assert staff.is_superuser
    assert _only_subscription(customer).plan.tier == "free"
    assert _only_subscription(staff).plan.tier == "free"


def test_a_failing_account_created_handler_leaves_no_account_behind():
    def refuse(*, account):
        raise RuntimeError("refused")

    account_created.register(refuse)
    try:
        with pytest.raises(RuntimeError, match="refused"):
            account_create(email="x@example.com", password="Flowport-pass-2026!")
    finally:
        account_created.unregister(refuse)
    assert not User.objects.filter(email="x@example.com").exists()
    assert Subscription.objects.count() == 0


def test_admin_add_user_creates_the_account_with_its_free_subscription(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "added@example.com",
            "usable_password": "true",
            "password1": "Flowport-pass-2026!",
            "password2": "Flowport-pass-2026!",
            "audit_events-TOTAL_FORMS": "0",
            "audit_events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    added = User.objects.get(email="added@example.com")
    assert added.check_password("Flowport-pass-2026!")
    assert _only_subscription(added).plan.tier == "free"


def test_console_pages_read_the_subscription_and_never_write_one(client):
    account = account_create(email="reader@example.com", password="Flowport-pass-2026!")
    subscription = _only_subscription(account)
    client.force_login(account)
    for name in ("console:home", "console:subscription"):
        assert client.get(reverse(name)).status_code == 200
    assert _only_subscription(account) == subscription
    assert Subscription.objects.count() == 1
    # An account whose subscription is missing is a broken invariant, not something a GET repairs.
    Subscription.objects.filter(account=account).delete()
    with pytest.raises(Subscription.DoesNotExist):
        client.get(reverse("console:subscription"))
    assert Subscription.objects.count() == 0
