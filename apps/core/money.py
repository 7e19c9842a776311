"""The one place that rounds money, Flows and rates (SPEC §1). Decimal only, never float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
USAGE_PLACES = Decimal("0.000001")  # usage costs and Flows: 6 places
RATE_PLACES = Decimal("0.000000000001")  # Flow rate: 12 places
PERCENT_PLACES = Decimal("0.0001")  # usage_percentage: 4 places
MULTIPLIER_PLACES = Decimal("0.01")  # value multiplier shown as 2.73x


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Coerce an int, str or Decimal to Decimal; floats are refused so no binary error slips in."""
    if isinstance(value, float):
        raise TypeError("Money and Flows are never floats; pass a str or Decimal.")
    return value if isinstance(value, Decimal) else Decimal(value)


def round_cents(amount: Decimal | int | str) -> Decimal:
    """Payment amounts (charges, refunds, top-ups): whole cents, half-up."""
    return to_decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def round_usage(amount: Decimal | int | str) -> Decimal:
    """Usage costs in USD and Flows: 6 decimal places, half-up."""
    return to_decimal(amount).quantize(USAGE_PLACES, rounding=ROUND_HALF_UP)


round_flows = round_usage


def round_rate(rate: Decimal | int | str) -> Decimal:
    """USD per Flow: 12 decimal places, half-up."""
    return to_decimal(rate).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def round_fraction(value: Decimal) -> Decimal:
    """A 0–1 fraction such as usage_percentage: 4 decimal places, half-up."""
    return to_decimal(value).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def flows_to_usd(flows: Decimal, usd_per_flow: Decimal) -> Decimal:
    """USD value of a number of Flows at a rate, to the cent (for display and refunds)."""
    return round_cents(to_decimal(flows) * to_decimal(usd_per_flow))


def usd_to_flows(cost_usd: Decimal, usd_per_flow: Decimal) -> Decimal:
    """Flow cost of a request: cost_usd / effective_usd_per_flow, 6 places."""
    rate = to_decimal(usd_per_flow)
    if rate <= 0:
        raise ValueError("usd_per_flow must be positive")
    return round_flows(to_decimal(cost_usd) / rate)


def value_multiplier(usd_value: Decimal, price: Decimal) -> Decimal | None:
    """USD equivalent value / price, 2 places; None for a free plan (shown as "—")."""
    price = to_decimal(price)
    if price <= 0:
        return None
    return (to_decimal(usd_value) / price).quantize(MULTIPLIER_PLACES, rounding=ROUND_HALF_UP)


def prorate(amount: Decimal, remaining_seconds: int | Decimal, total_seconds: int | Decimal) -> Decimal:
    """amount × remaining / total, to the cent, never negative (SPEC §4 upgrade charge)."""
    total = to_decimal(total_seconds)
    if total <= 0:
        return Decimal("0.00")
    remaining = min(max(to_decimal(remaining_seconds), Decimal(0)), total)
    return max(Decimal("0.00"), round_cents(to_decimal(amount) * remaining / total))
