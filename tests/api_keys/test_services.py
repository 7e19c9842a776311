from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import (
    ApiKeyNotFound,
    ApiKeyRefused,
    api_key_authenticate,
    api_key_create,
    api_key_delete,
    api_key_hash,
    api_key_rename,
    api_key_rotate,
    api_key_set_status,
    api_key_touch,
    api_key_usage_add,
)
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.helpers import outcome, raised, run_concurrently

pytestmark = pytest.mark.django_db


def snapshot(account):
    return list(ApiKey.objects.filter(account=account).order_by("pk").values())


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [("subscription", "sk-ss-v1-"), ("payg", "sk-ai-v1-"), ("management", "sk-mg-v1-")],
)
def test_each_kind_gets_its_prefix_and_73_characters(user, kind, prefix):
    key, secret = api_key_create(account=user, kind=kind, name="  CI  ")
    assert secret.startswith(prefix)
    assert len(secret) == 73
    assert all(c in "0123456789abcdef" for c in secret[9:])
    key.refresh_from_db()
    assert key.kind == kind
    assert key.name == "CI"
    assert key.status == ApiKeyStatus.ENABLED
    assert key.prefix == secret[:13]
    assert key.last_four == secret[-4:]
    assert key.masked == f"{secret[:13]}…{secret[-4:]}"
    assert key.secret_hash == api_key_hash(secret)
    assert (key.used_flows, key.used_usd, key.request_count) == (Decimal("0"), Decimal("0"), 0)
    assert key.last_used_at is None and key.deleted_at is None


def test_a_thousand_secrets_never_collide():
    from apps.api_keys.services import _secret_new

    secrets_ = {_secret_new(ApiKeyKind.PAYG) for _ in range(1000)}
    assert len(secrets_) == 1000
    assert len({api_key_hash(s) for s in secrets_}) == 1000


def test_the_database_refuses_a_duplicate_secret_hash(user):
    key, _ = make_key(account=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(
            account=user, kind=key.kind, name="dup", secret_hash=key.secret_hash, prefix="x", last_four="x"
        )


def test_the_stored_row_holds_no_secret(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_keys_apikey WHERE id = %s", [key.pk])
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
    assert not any(secret[9:] in str(value) for value in row)  # not even the random part


def test_create_needs_a_name_and_a_known_kind(user):
    with pytest.raises(ApplicationError) as error:
        api_key_create(account=user, kind=ApiKeyKind.PAYG, name="   ")
    assert error.value.code == "name_required"
    with pytest.raises(ApplicationError) as error:
        api_key_create(account=user, kind="admin", name="x")
    assert error.value.code == "invalid_kind"
    with pytest.raises(ApplicationError) as error:
        api_key_create(account=user, kind=ApiKeyKind.PAYG, name="x" * 101)
    assert error.value.code == "name_too_long"
    assert ApiKey.objects.count() == 0
    assert AuditEvent.objects.filter(event_type__startswith="api_key.").count() == 0


def test_the_21st_key_of_a_kind_is_refused_and_nothing_is_created(user):
    for i in range(20):
        make_key(account=user, kind=ApiKeyKind.PAYG, name=f"k{i}")
    with pytest.raises(ApplicationError) as error:
        make_key(account=user, kind=ApiKeyKind.PAYG, name="one too many")
    assert error.value.code == "key_limit"
    assert error.value.message == (
        "You already have 20 keys of this kind, the most allowed. Delete one to create another."
    )
    assert ApiKey.objects.filter(account=user).count() == 20
    assert AuditEvent.objects.filter(event_type="api_key.created").count() == 20
    # Other kinds have their own limit; deleting one frees a place.
    make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    api_key_delete(account=user, key_id=ApiKey.objects.filter(kind=ApiKeyKind.PAYG).first().pk)
    make_key(account=user, kind=ApiKeyKind.PAYG, name="replacement")
    assert ApiKey.objects.live().filter(account=user, kind=ApiKeyKind.PAYG).count() == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_of_the_20th_key_creates_exactly_20():
    account = UserFactory()
    for i in range(18):
        make_key(account=account, name=f"k{i}")

    def create(n: int) -> str:
        make_key(account=account, name=f"race{n}")
        return "created"

    outcomes = [outcome(result) for result in run_concurrently(create, 4)]
    assert sorted(outcomes) == ["created", "created", "key_limit", "key_limit"]
    assert ApiKey.objects.filter(account=account).count() == 20


def test_authenticate_the_right_secret_returns_the_key_with_its_account(user, django_assert_num_queries):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    with django_assert_num_queries(1):
        found = api_key_authenticate(secret=secret)
        assert found.account.email == user.email
    assert found.pk == key.pk
    assert api_key_authenticate(secret=secret, expected_kinds={"payg", "subscription"}).pk == key.pk


def refusal(secret, **kwargs):
    with pytest.raises(ApiKeyRefused) as error:
        api_key_authenticate(secret=secret, **kwargs)
    return error.value.reason


@pytest.mark.parametrize(
    "secret",
    ["", None, "sk-ss-v1-", "sk-xx-v1-" + "a" * 64, "sk-ss-v1-" + "A" * 64, "sk-ss-v1-" + "a" * 63, 42],
)
def test_malformed_secrets_are_refused_without_a_query(secret, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert refusal(secret) == "malformed"


def test_unknown_disabled_deleted_and_rotated_away_secrets_are_refused(user):
    key, secret = make_key(account=user)
    assert refusal("sk-ss-v1-" + "0" * 64) == "unknown"
    assert refusal(secret[:-1] + ("0" if secret[-1] != "0" else "1")) == "unknown"

    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    assert refusal(secret) == "disabled"
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.ENABLED)
    assert api_key_authenticate(secret=secret).pk == key.pk

    _, new_secret = api_key_rotate(account=user, key_id=key.pk)
    assert refusal(secret) == "unknown"
    assert api_key_authenticate(secret=new_secret).pk == key.pk

    api_key_delete(account=user, key_id=key.pk)
    assert refusal(new_secret) == "deleted"


def test_a_payg_secret_where_a_management_key_is_needed_is_the_wrong_kind(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    with pytest.raises(ApiKeyRefused) as error:
        api_key_authenticate(secret=secret, expected_kinds={ApiKeyKind.MANAGEMENT})
    assert error.value.reason == "wrong_kind"
    assert error.value.key.pk == key.pk


def test_a_disabled_key_of_another_kind_is_disabled_not_wrong_kind(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    assert refusal(secret, expected_kinds={ApiKeyKind.MANAGEMENT}) == "disabled"


def test_rename_disable_rotate_delete_keep_the_record_and_write_audit_events(user):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    ApiKey.objects.filter(pk=key.pk).update(used_flows=Decimal("12.5"), request_count=7)

    api_key_rename(account=user, key_id=key.pk, name="deploy bot")
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)  # no change, no event
    rotated, new_secret = api_key_rotate(account=user, key_id=key.pk)
    assert rotated.pk == key.pk
    rotated.refresh_from_db()
    assert (rotated.name, rotated.status, rotated.used_flows, rotated.request_count) == (
        "deploy bot",
        ApiKeyStatus.DISABLED,
        Decimal("12.500000"),
        7,
    )
    assert rotated.prefix == new_secret[:13] and rotated.last_four == new_secret[-4:]
    deleted = api_key_delete(account=user, key_id=key.pk)
    assert ApiKey.objects.get(pk=key.pk).deleted_at == deleted.deleted_at

    events = list(AuditEvent.objects.filter(subject_id=str(key.pk)).order_by("id"))
    assert [e.event_type for e in events] == [
        "api_key.created",
        "api_key.renamed",
        "api_key.disabled",
        "api_key.rotated",
        "api_key.deleted",
    ]
    assert all(e.account_id == user.pk and e.actor_id == user.pk for e in events)
    assert events[1].details == {
        "kind": "management",
        "key": f"{secret[:13]}…{secret[-4:]}",
        "from": "ops",
        "to": "deploy bot",
    }
    everything = str([(e.details, e.subject_type, e.subject_id) for e in events])
    for leaked in (
        secret,
        new_secret,
        secret[9:],
        new_secret[9:],
        api_key_hash(secret),
        api_key_hash(new_secret),
    ):
        assert leaked not in everything


def test_another_accounts_key_and_deleted_keys_are_not_found_and_unchanged(user):
    other = UserFactory()
    key, _ = make_key(account=other, name="theirs")
    before = snapshot(other)
    for call in (
        lambda: api_key_rename(account=user, key_id=key.pk, name="mine"),
        lambda: api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED),
        lambda: api_key_rotate(account=user, key_id=key.pk),
        lambda: api_key_delete(account=user, key_id=key.pk),
        lambda: api_key_rename(account=user, key_id="nope", name="mine"),
    ):
        with pytest.raises(ApiKeyNotFound):
            call()
    assert snapshot(other) == before
    api_key_delete(account=other, key_id=key.pk)
    with pytest.raises(ApiKeyNotFound):
        api_key_rename(account=other, key_id=key.pk, name="again")
    assert AuditEvent.objects.filter(subject_id=str(key.pk)).count() == 2


def test_touch_writes_last_used_at_at_most_once_a_minute(user, django_assert_num_queries):
    from django.core.cache import cache

    key, _ = make_key(account=user)
    t0 = timezone.now()
    with django_assert_num_queries(1):
        assert api_key_touch(key=key, now=t0) is True
    with django_assert_num_queries(0):
        assert api_key_touch(key=key, now=t0 + timedelta(seconds=30)) is False
    key.refresh_from_db()
    assert key.last_used_at == t0

    cache.delete(f"apikey:touched:{key.pk}")  # the minute has passed
    assert api_key_touch(key=key, now=t0 + timedelta(seconds=61)) is True
    key.refresh_from_db()
    assert key.last_used_at == t0 + timedelta(seconds=61)

    cache.delete(f"apikey:touched:{key.pk}")  # a late, older timestamp never moves it backwards
    api_key_touch(key=key, now=t0)
    key.refresh_from_db()
    assert key.last_used_at == t0 + timedelta(seconds=61)


@pytest.mark.django_db(transaction=True)
def test_usage_counters_add_up_under_concurrency():
    account = UserFactory()
    key, _ = make_key(account=account, kind=ApiKeyKind.PAYG)

    def add(_index: int) -> None:
        for _ in range(5):
            api_key_usage_add(key_id=key.pk, flows=Decimal("1.000001"), usd=Decimal("0.000420"))

    assert raised(run_concurrently(add, 4)) == []
    key.refresh_from_db()
    assert (key.used_flows, key.used_usd, key.request_count) == (
        Decimal("20.000020"),
        Decimal("0.008400"),
        20,
    )
    with pytest.raises(ValueError):
        api_key_usage_add(key_id=key.pk, usd=Decimal("-1"))
