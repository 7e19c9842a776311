"""The hook registry: handlers run in order, with the caller's arguments, inside the caller's transaction."""

import pytest
from django.db import transaction

from apps.core.hooks import Hook
from apps.core.models import AuditEvent
from apps.core.services import audit_record


def test_handlers_run_in_registration_order_with_the_callers_keyword_arguments():
    hook = Hook("test.ordered")
    calls = []
    hook.register(lambda *, value: calls.append(("first", value)) or 1)
    hook.register(lambda *, value: calls.append(("second", value)) or 2)
    assert hook.send(value="x") == [1, 2]
    assert calls == [("first", "x"), ("second", "x")]


def test_registering_the_same_handler_twice_runs_it_once():
    hook = Hook("test.once")
    calls = []

    def handler():
        calls.append(1)

    hook.register(handler)
    hook.register(handler)
    hook.send()
    assert calls == [1]


def test_send_one_needs_exactly_one_handler():
    hook = Hook("test.lookup")
    with pytest.raises(RuntimeError, match="exactly one handler, has 0"):
        hook.send_one(key="a")
    hook.register(lambda *, key: key.upper())
    assert hook.send_one(key="a") == "A"


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_rolls_back_the_callers_transaction():
    hook = Hook("test.rollback")
    seen = []

    def handler(*, note):
        seen.append(transaction.get_connection().in_atomic_block)
        audit_record(event_type="test.handler", details={"note": note})
        raise ValueError("handler refused")

    hook.register(handler)
    with pytest.raises(ValueError, match="handler refused"), transaction.atomic():
        audit_record(event_type="test.caller", details={})
        hook.send(note="n")
    assert seen == [True]
    assert AuditEvent.objects.filter(event_type__startswith="test.").count() == 0
