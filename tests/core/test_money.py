from decimal import Decimal

import pytest

from apps.core import money


def test_cents_round_half_up():
    assert money.round_cents(Decimal("0.005")) == Decimal("0.01")
    assert money.round_cents(Decimal("0.0049999")) == Decimal("0.00")
    assert money.round_cents(Decimal("54.545454")) == Decimal("54.55")
    assert money.round_cents(Decimal("-0.005")) == Decimal("-0.01")


def test_usage_keeps_six_places():
    assert money.round_usage(Decimal("0.00042")) == Decimal("0.000420")
    assert money.round_usage(Decimal("0.0000005")) == Decimal("0.000001")


def test_floats_are_refused():
    with pytest.raises(TypeError):
        money.round_cents(0.1)


def test_default_rate_is_one_over_39_6_to_12_places():
    assert money.round_rate(Decimal(1) / Decimal("39.6")) == Decimal("0.025252525253")


def test_usd_to_flows_divides_by_the_effective_rate():
    assert money.usd_to_flows(Decimal("1"), Decimal("0.025252525253")) == Decimal("39.600000")
    assert money.usd_to_flows(Decimal("0.0505"), Decimal("0.0505")) == Decimal("1.000000")
    with pytest.raises(ValueError):
        money.usd_to_flows(Decimal("1"), Decimal("0"))


def test_value_multiplier_and_usd_value_for_pro():
    usd = money.flows_to_usd(Decimal("2160"), Decimal("0.025252525253"))
    assert usd == Decimal("54.55")
    assert money.value_multiplier(usd, Decimal("20")) == Decimal("2.73")
    assert money.value_multiplier(Decimal("0"), Decimal("0")) is None


def test_prorate_spec_example_and_bounds():
    day = 86400
    assert money.prorate(Decimal("80"), 15 * day, 30 * day) == Decimal("40.00")
    assert money.prorate(Decimal("80"), 30 * day, 30 * day) == Decimal("80.00")
    assert money.prorate(Decimal("80"), 0, 30 * day) == Decimal("0.00")
    assert money.prorate(Decimal("-80"), 15 * day, 30 * day) == Decimal("0.00")
    # $10 × 1/8 = 1.25 exactly; $0.10 × 1/8 = 0.0125 → 0.01 (half-up at the third place is 0.0125 → 0.01)
    assert money.prorate(Decimal("0.10"), 1, 8) == Decimal("0.01")
    assert money.prorate(Decimal("0.20"), 1, 8) == Decimal("0.03")  # 0.025 → 0.03 half-up


def test_flows_filter_rounds_for_people():
    from apps.core.templatetags.flowport import flows, usd

    assert flows(Decimal("1.059181")) == "1.06"
    assert flows(Decimal("50.4")) == "50.4"
    assert flows(Decimal("2160.000000")) == "2,160"
    assert flows(Decimal("0.004999")) == "0"
    assert flows(Decimal("-3.125")) == "-3.13"
    assert flows(None) == "—"
    assert usd(Decimal("1234.505")) == "$1,234.51"
