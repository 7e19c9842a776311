"""`manage.py stripe_rehearsal` against the fake: every step passes, a failing one is reported, clean-up runs."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db

STEPS = [
    "set up a test clock and a customer",
    "subscribe (Pro)",
    "upgrade (Pro -> Max)",
    "scheduled downgrade, then upgrade (Max -> Ultra)",
    "renewal at the period end",
    "refund after an upgrade",
    "auto top-up with pm_card_visa",
    "auto top-up with pm_card_authenticationRequired fails",
    "dispute with pm_card_createDispute",
    "clean up",
]


def rehearse():
    out = StringIO()
    try:
        call_command("stripe_rehearsal", stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None


def test_every_step_passes_against_stripe_and_the_clock_is_deleted(fake_stripe):
    output, error = rehearse()

    lines = output.splitlines()
    assert error is None, output
    assert [line.split(":")[0] for line in lines[:-1]] == [f"PASS  {step}" for step in STEPS]
    assert lines[-1] == "All rehearsal steps passed."
    assert not [o for o in fake_stripe.objects.values() if o["object"] == "test_helpers.test_clock"]
    refunds = [r for r in fake_stripe.posts("/v1/refunds") if r.path == "/v1/refunds"]
    assert len(refunds) == 2 and all(r.params["payment_intent"].startswith("pi_") for r in refunds)


def test_a_failing_step_is_reported_and_the_rest_still_run(fake_stripe):
    fake_stripe.fail_next("POST", "/v1/refunds", 500)

    output, error = rehearse()

    assert error == "1 rehearsal step(s) failed."
    assert "FAIL  refund after an upgrade: " in output
    assert "PASS  dispute with pm_card_createDispute" in output
    assert "PASS  clean up: test clock deleted" in output


def test_a_live_key_is_refused(settings):
    settings.STRIPE_SECRET_KEY = "sk_live_x"
    with pytest.raises(CommandError, match="test mode only"):
        call_command("stripe_rehearsal", stdout=StringIO())
