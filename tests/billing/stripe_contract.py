"""The fake Stripe held to stripe-python's own definitions for the pinned API version.

Requests: every request the fake receives is checked against the TypedDict stripe-python generates
from Stripe's OpenAPI spec for that endpoint (`stripe.params.*Params`): an unknown parameter, a
missing required one, or a value of the wrong shape is a contract violation (real Stripe answers 400).

Responses: every object the fake returns (or sends in an event) is built into the stripe-python class
named by its `object` field (`stripe.Subscription`, `stripe.Invoice`, …) and each field it carries is
checked against that class's annotations (an unknown field, or an int where a str is declared, is a
violation); the fields Flowport reads must be present.
"""

import functools
import re
import sys
import types
import typing

import stripe
import stripe.params as P
import stripe.params.checkout as PC
import stripe.params.test_helpers as PT
from stripe._request_options import RequestOptions
from stripe._stripe_object import UntypedStripeObject
from stripe._util import convert_to_stripe_object

# (method, path pattern) -> the params TypedDict stripe-python sends for that call.
REQUEST_PARAMS = [
    ("POST", r"/v1/customers", P.CustomerCreateParams),
    ("GET", r"/v1/customers/[^/]+", P.CustomerRetrieveParams),
    ("POST", r"/v1/checkout/sessions", PC.SessionCreateParams),
    ("GET", r"/v1/checkout/sessions/[^/]+", PC.SessionRetrieveParams),
    ("POST", r"/v1/checkout/sessions/[^/]+/expire", PC.SessionExpireParams),
    ("POST", r"/v1/payment_intents", P.PaymentIntentCreateParams),
    ("GET", r"/v1/payment_intents/[^/]+", P.PaymentIntentRetrieveParams),
    ("GET", r"/v1/payment_methods/[^/]+", P.PaymentMethodRetrieveParams),
    ("GET", r"/v1/products/[^/]+", P.ProductRetrieveParams),
    ("GET", r"/v1/products/[^/]+/features", P.ProductFeatureListParams),
    ("GET", r"/v1/prices", P.PriceListParams),
    ("POST", r"/v1/prices", P.PriceCreateParams),
    ("GET", r"/v1/prices/[^/]+", P.PriceRetrieveParams),
    ("GET", r"/v1/subscriptions/[^/]+", P.SubscriptionRetrieveParams),
    ("POST", r"/v1/subscriptions/[^/]+", P.SubscriptionUpdateParams),
    ("DELETE", r"/v1/subscriptions/[^/]+", P.SubscriptionCancelParams),
    ("POST", r"/v1/subscription_schedules", P.SubscriptionScheduleCreateParams),
    ("GET", r"/v1/subscription_schedules/[^/]+", P.SubscriptionScheduleRetrieveParams),
    ("POST", r"/v1/subscription_schedules/[^/]+/release", P.SubscriptionScheduleReleaseParams),
    ("POST", r"/v1/subscription_schedules/[^/]+", P.SubscriptionScheduleUpdateParams),
    ("GET", r"/v1/invoices/[^/]+", P.InvoiceRetrieveParams),
    ("GET", r"/v1/invoice_payments", P.InvoicePaymentListParams),
    ("POST", r"/v1/refunds", P.RefundCreateParams),
    ("GET", r"/v1/refunds", P.RefundListParams),
    ("GET", r"/v1/refunds/[^/]+", P.RefundRetrieveParams),
    ("POST", r"/v1/refunds/[^/]+", P.RefundUpdateParams),
    ("GET", r"/v1/events/[^/]+", P.EventRetrieveParams),
    ("GET", r"/v1/charges/[^/]+", P.ChargeRetrieveParams),
    ("GET", r"/v1/disputes/[^/]+", P.DisputeRetrieveParams),
    ("GET", r"/v1/account", P.AccountRetrieveCurrentParams),
    ("POST", r"/v1/customers/[^/]+", P.CustomerUpdateParams),
    ("POST", r"/v1/payment_methods/[^/]+/attach", P.PaymentMethodAttachParams),
    ("POST", r"/v1/subscriptions", P.SubscriptionCreateParams),
    ("GET", r"/v1/disputes", P.DisputeListParams),
    ("POST", r"/v1/test_helpers/test_clocks", PT.TestClockCreateParams),
    ("GET", r"/v1/test_helpers/test_clocks/[^/]+", PT.TestClockRetrieveParams),
    ("POST", r"/v1/test_helpers/test_clocks/[^/]+/advance", PT.TestClockAdvanceParams),
    ("DELETE", r"/v1/test_helpers/test_clocks/[^/]+", PT.TestClockDeleteParams),
]

_OPTIONS = set(RequestOptions.__annotations__)


class _Unknown:
    """A name stripe-python imports only for type checkers: accept any value there."""

    def __class_getitem__(cls, item):
        return typing.Any


@functools.cache
def type_hints(cls) -> dict:
    """`typing.get_type_hints`, with names stripe-python only imports for type checkers taken as Any."""
    namespace = dict(vars(sys.modules[cls.__module__]))
    for _attempt in range(20):
        try:
            return typing.get_type_hints(cls, globalns=namespace, include_extras=True)
        except NameError as error:
            namespace[error.name] = _Unknown
    return {key: typing.Any for key in getattr(cls, "__annotations__", {})}


def params_class(method: str, path: str):
    for route_method, pattern, cls in REQUEST_PARAMS:
        if route_method == method and re.fullmatch(pattern, path):
            return cls
    return None


def _strip(tp):
    """NotRequired[X] / Required[X] / Annotated[X, …] -> X."""
    while typing.get_origin(tp) in (typing.NotRequired, typing.Required, typing.Annotated):
        tp = typing.get_args(tp)[0]
    return tp


def _is_typeddict(tp) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _check_form(value, tp, where: str) -> list[str]:
    """Does a form-decoded value (strings, dicts, lists) fit the declared type? Returns violations."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_check_form(value, option, where) for option in typing.get_args(tp)]
        return [] if any(not problems for problems in options) else options[0]
    if origin is typing.Literal:
        return [] if value in [str(a) for a in typing.get_args(tp)] else [f"{where}: {value!r} not in {tp}"]
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        return _check_params(value, tp, where)
    if origin in (list, typing.List):  # noqa: UP006 (stripe-python declares typing.List)
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        (item,) = typing.get_args(tp)
        return [p for index, v in enumerate(value) for p in _check_form(v, item, f"{where}[{index}]")]
    if origin in (dict, typing.Dict) or (  # noqa: UP006
        isinstance(origin, type) and issubclass(origin, stripe.StripeObject)
    ):
        return [] if isinstance(value, dict) else [f"{where}: expected a hash, got {value!r}"]
    if tp is bool:
        return [] if value in ("true", "false") else [f"{where}: {value!r} is not a boolean"]
    if tp is int:
        return (
            []
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value)
            else [f"{where}: {value!r} not int"]
        )
    if tp is float:
        return (
            []
            if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)
            else [f"{where}: not float"]
        )
    if tp is str:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    return []  # Any and other open types


def _check_params(params: dict, cls, where: str = "") -> list[str]:
    hints = type_hints(cls)
    problems = []
    for key, value in params.items():
        name = f"{where}[{key}]" if where else key
        if key not in hints or (not where and key in _OPTIONS and key not in cls.__annotations__):
            problems.append(f"unknown parameter {name}")
            continue
        problems += _check_form(value, hints[key], name)
    for key in getattr(cls, "__required_keys__", ()):
        if key not in params and key not in _OPTIONS:
            problems.append(f"missing required parameter {where}[{key}]" if where else f"missing {key}")
    return problems


def check_request(method: str, path: str, params: dict) -> list[str]:
    """Violations of stripe-python's typed params for this request ([] = valid)."""
    cls = params_class(method, path)
    if cls is None:
        return [f"{method} {path}: no stripe-python params for this endpoint"]
    return [f"{method} {path}: {problem}" for problem in _check_params(params, cls)]


# -- responses -------------------------------------------------------------------------------------


OBJECT_CLASSES = {
    "customer": stripe.Customer,
    "checkout.session": stripe.checkout.Session,
    "payment_intent": stripe.PaymentIntent,
    "payment_method": stripe.PaymentMethod,
    "price": stripe.Price,
    "product": stripe.Product,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
    "subscription_schedule": stripe.SubscriptionSchedule,
    "invoice": stripe.Invoice,
    "line_item": stripe.InvoiceLineItem,
    "invoice_payment": stripe.InvoicePayment,
    "refund": stripe.Refund,
    "charge": stripe.Charge,
    "dispute": stripe.Dispute,
    "event": stripe.Event,
    "test_helpers.test_clock": stripe.test_helpers.TestClock,
}

# The fields Flowport reads, per object (they must be present, typed as the pinned version declares).
READ_FIELDS = {
    "checkout.session": {"id", "status", "payment_status", "amount_total", "currency", "mode", "metadata"},
    "payment_intent": {"id", "status", "amount", "amount_received", "currency", "metadata", "payment_method"},
    "payment_method": {"id", "type", "card"},
    "subscription": {"id", "status", "items", "cancel_at_period_end", "schedule", "latest_invoice"},
    "subscription_item": {"id", "price", "current_period_start", "current_period_end"},
    "subscription_schedule": {"id", "phases", "status", "subscription"},
    "invoice": {"id", "status", "billing_reason", "amount_paid", "amount_due", "lines", "parent"},
    "invoice_payment": {"id", "invoice", "status", "payment", "amount_paid"},
    "refund": {"id", "status", "amount", "payment_intent", "charge"},
    "charge": {"id", "payment_intent", "amount_refunded", "disputed"},
    "dispute": {"id", "status", "amount", "charge", "payment_intent", "reason"},
    "price": {"id", "unit_amount", "metadata", "lookup_key"},
}


def _check_value(value, tp, where: str) -> list[str]:
    tp = _strip(tp)
    if isinstance(tp, typing.ForwardRef | str):
        return []
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_check_value(value, option, where) for option in typing.get_args(tp)]
        return [] if any(not problems for problems in options) else options[0]
    if tp is type(None):
        return [] if value is None else [f"{where}: expected null, got {value!r}"]
    if origin is typing.Literal:
        return [] if value in typing.get_args(tp) else [f"{where}: {value!r} not in {tp}"]
    if origin in (list, typing.List):  # noqa: UP006
        return [] if isinstance(value, list) else [f"{where}: expected a list"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected bool, got {value!r}"]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected int, got {value!r}"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{where}: expected str, got {value!r}"]
    cls = origin or tp
    if isinstance(cls, type) and issubclass(cls, stripe.StripeObject):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        if cls in OBJECT_CLASSES.values() or cls is stripe.ListObject:
            return check_object(value, where) if "object" in value and value["object"] != "list" else []
        return _check_fields(value, cls, where)
    return []


def _check_fields(data: dict, cls, where: str) -> list[str]:
    if cls is stripe.StripeObject or issubclass(cls, UntypedStripeObject):
        return []  # a free-form hash (metadata and the like)
    hints = type_hints(cls)
    problems = []
    for key, value in data.items():
        if key not in hints:
            problems.append(f"{where}.{key}: not a field of {cls.__name__} in this API version")
            continue
        if value is None:
            continue  # nullable in practice; presence of the field is what we check
        problems += _check_value(value, hints[key], f"{where}.{key}")
    return problems


def check_object(data: dict, where: str = "") -> list[str]:
    """Violations for an object the fake answers with ([] = it is a valid object of the pinned version)."""
    if not isinstance(data, dict) or "object" not in data:
        return []
    kind = data["object"]
    where = where or kind
    if kind == "list":
        return [
            p
            for index, item in enumerate(data.get("data", []))
            for p in check_object(item, f"{where}[{index}]")
        ]
    cls = OBJECT_CLASSES.get(kind)
    if cls is None:
        return []
    constructed = convert_to_stripe_object(data, api_key="sk_test_contract")
    if type(constructed) is not cls:
        return [f"{where}: built as {type(constructed).__name__}, not {cls.__name__}"]
    problems = [f"{where}: missing {field}" for field in sorted(READ_FIELDS.get(kind, set()) - set(data))]
    return problems + _check_fields(data, cls, where)
