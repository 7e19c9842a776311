"""A small local Stripe: a threaded HTTP server speaking Stripe's wire format for the endpoints we use.

Requests are form-encoded (`a[b][0][c]=v`), responses are JSON objects with `object` and `id` fields
(`cs_test_…`, `pi_test_…`), errors are `{"error": {...}}` with Stripe's status codes (400 invalid
request, 402 card error, 404 missing). Every request is recorded (method, path, params, Idempotency-Key)
so tests assert amounts and keys; a POST replayed with the same Idempotency-Key returns the first
response, as Stripe does. Tests change the stored objects (`fake.objects[id]`) to play the customer
or Stripe's side (pay a session, decline a card, renew a subscription).
"""

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.billing import stripe_contract

MONTH = 30 * 24 * 3600


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    api_key: str


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}


def parse_form(pairs: list[tuple[str, str]]) -> dict:
    """Decode Stripe's nested form encoding (`items[0][price]=x`, `expand[]=y`) into dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = [chunk.rstrip("]") for chunk in key.split("[")]
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                if part == "":
                    node.setdefault("__list__", []).append(value)
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if set(node) == {"__list__"}:
        return [_lists(v) for v in node["__list__"]]
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _bool(value) -> bool:
    return str(value).lower() == "true"


@dataclass
class FakeStripe:
    api_key: str = "sk_test_FlowportFakeStripeKey0001"
    objects: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    declined_payment_methods: set = field(default_factory=set)
    processing_payment_methods: set = field(default_factory=set)
    invoice_payments: dict = field(default_factory=dict)  # invoice id -> the PaymentIntent that paid it
    refund_status: str = "succeeded"  # what POST /v1/refunds answers ("pending": a webhook settles it later)
    idempotent: dict = field(default_factory=dict)
    idempotent_params: dict = field(default_factory=dict)  # key -> the request it was first used with
    failures: list = field(default_factory=list)  # [(method, path prefix, StripeError)] answered once each
    authentication_required_payment_methods: set = field(default_factory=set)  # 3-D Secure cards
    dispute_payment_methods: set = field(default_factory=set)  # pm_card_createDispute: disputed once paid
    customer_balance: dict = field(default_factory=dict)  # customer id -> credit in cents (negative)
    private: dict = field(default_factory=dict)  # object id -> the fake's own bookkeeping
    violations: list = field(default_factory=list)  # stripe-python contract breaches (request or response)
    lock: threading.RLock = field(default_factory=threading.RLock)
    url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- ids and objects ------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    def put(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str) -> dict:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise StripeError(
                404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing"
            )
        return obj

    def posts(self, path_prefix: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method != "GET" and r.path.startswith(path_prefix)]

    # -- test helpers: play the customer or Stripe ---------------------------------------------------
    def payment_method(
        self, *, last4: str = "4242", brand: str = "visa", customer: str | None = None
    ) -> dict:
        return self.put(
            {
                "id": self.new_id("pm"),
                "object": "payment_method",
                "type": "card",
                "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2030},
                "customer": customer,
            }
        )

    def complete_checkout(self, session_id: str, *, paid: bool = True, last4: str = "4242") -> dict:
        """The customer pays on the hosted page: a succeeded PaymentIntent or a new subscription."""
        session = self.objects[session_id]
        pm = self.payment_method(last4=last4, customer=session["customer"])
        session["status"] = "complete"
        session["payment_status"] = "paid" if paid else "unpaid"
        if session["mode"] == "payment":
            pi = self._payment_intent(
                amount=session["amount_total"],
                customer=session["customer"],
                payment_method=pm["id"],
                metadata=self.private[session_id]["payment_intent_metadata"],
                status="succeeded" if paid else "requires_payment_method",
            )
            session["payment_intent"] = pi["id"]
        else:
            private = self.private[session_id]
            price = self.objects[private["line_items"][0]["price"]]
            sub = self._subscription(session["customer"], price, pm["id"], private["subscription_metadata"])
            session["subscription"] = sub["id"]
            invoice = self.invoice(sub, "subscription_create", price["unit_amount"], paid=paid)
            sub["latest_invoice"] = invoice["id"]
        return session

    def _payment_intent(self, *, amount, customer, payment_method, metadata, status) -> dict:
        return self.put(
            {
                "id": self.new_id("pi"),
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount if status == "succeeded" else 0,
                "currency": "usd",
                "customer": customer,
                "payment_method": payment_method,
                "metadata": metadata or {},
                "status": status,
                "latest_charge": self.new_id("ch") if status == "succeeded" else None,
                "last_payment_error": None
                if status == "succeeded"
                else {"code": "card_declined", "message": "Your card was declined."},
            }
        )

    def _subscription(self, customer, price, payment_method, metadata) -> dict:
        now = int(time.time())
        sub_id = self.new_id("sub")
        return self.put(
            {
                "id": sub_id,
                "object": "subscription",
                "customer": customer,
                "status": "active",
                "cancel_at_period_end": False,
                "default_payment_method": payment_method,
                "metadata": metadata or {},
                "schedule": None,
                "latest_invoice": None,
                "livemode": False,
                "created": now,
                "start_date": now,
                "billing_cycle_anchor": now,
                "collection_method": "charge_automatically",
                "items": {
                    "object": "list",
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                    "data": [
                        {
                            "id": self.new_id("si"),
                            "object": "subscription_item",
                            "subscription": sub_id,
                            "price": price,
                            "quantity": 1,
                            "current_period_start": now,
                            "current_period_end": now + MONTH,
                        }
                    ],
                },
            }
        )

    def invoice(self, sub: dict, billing_reason: str, amount: int, *, paid: bool = True) -> dict:
        item = sub["items"]["data"][0]
        invoice_id = self.new_id("in")
        total = amount
        credit = min(-self.customer_balance.get(sub["customer"], 0), max(amount, 0))
        if credit:  # Stripe applies the customer's credit balance before charging the card
            self.customer_balance[sub["customer"]] += credit
            amount -= credit
        if paid:
            self.invoice_payments[invoice_id] = self._payment_intent(
                amount=amount,
                customer=sub["customer"],
                payment_method=sub["default_payment_method"],
                metadata={},
                status="succeeded",
            )["id"]
        return self.put(
            {
                "id": invoice_id,
                "object": "invoice",
                "customer": sub["customer"],
                "billing_reason": billing_reason,
                "status": "paid" if paid else "open",
                "currency": "usd",
                "amount_due": amount,
                "amount_paid": amount if paid else 0,
                "total": total,
                "attempt_count": 1,
                "hosted_invoice_url": f"https://invoice.stripe.test/{invoice_id}",
                "invoice_pdf": f"https://invoice.stripe.test/{invoice_id}/pdf",
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]},
                },
                "lines": {
                    "object": "list",
                    "has_more": False,
                    "url": f"/v1/invoices/{invoice_id}/lines",
                    "data": [
                        {
                            "id": self.new_id("il"),
                            "object": "line_item",
                            "amount": total,
                            "pricing": {"price_details": {"price": item["price"]["id"]}},
                            "period": {
                                "start": item["current_period_start"],
                                "end": item["current_period_end"],
                            },
                        }
                    ],
                },
            }
        )

    def renew(self, sub_id: str, *, paid: bool = True) -> dict:
        """Stripe's billing cycle: advance the period by a month and invoice it."""
        sub = self.objects[sub_id]
        item = sub["items"]["data"][0]
        if paid:
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] += MONTH
        else:
            sub["status"] = "past_due"
        invoice = self.invoice(sub, "subscription_cycle", item["price"]["unit_amount"], paid=paid)
        if not paid:
            invoice["lines"]["data"][0]["period"] = {
                "start": item["current_period_end"],
                "end": item["current_period_end"] + MONTH,
            }
        sub["latest_invoice"] = invoice["id"]
        return invoice

    def event(self, type_: str, obj: dict) -> dict:
        """An event as Stripe would deliver it (a snapshot of `obj`), stored for GET /v1/events/{id}."""
        return self.put(
            {
                "id": self.new_id("evt"),
                "object": "event",
                "api_version": "2026-08-26.dahlia",
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": type_,
                "data": {"object": self.checked(json.loads(json.dumps(obj)))},
            }
        )

    def checked(self, obj: dict) -> dict:
        """Record any way `obj` is not a valid object of the pinned API version (the contract)."""
        self.violations += stripe_contract.check_object(obj)
        return obj

    # -- the API ------------------------------------------------------------------------------------
    # (method, path, handler): `{id}` matches one path segment.
    ROUTES = [
        ("GET", "/v1/account", "get_account"),
        ("POST", "/v1/customers", "post_customers"),
        ("GET", "/v1/customers/{id}", "get_customers"),
        ("POST", "/v1/checkout/sessions", "post_checkout_sessions"),
        ("GET", "/v1/checkout/sessions/{id}", "get_checkout_sessions"),
        ("POST", "/v1/checkout/sessions/{id}/expire", "post_checkout_sessions_expire"),
        ("POST", "/v1/payment_intents", "post_payment_intents"),
        ("GET", "/v1/payment_intents/{id}", "get_payment_intents"),
        ("GET", "/v1/payment_methods/{id}", "get_payment_methods"),
        ("GET", "/v1/products/{id}", "get_products"),
        ("GET", "/v1/products/{id}/features", "get_product_features"),
        ("GET", "/v1/prices/{id}", "get_prices_id"),
        ("GET", "/v1/prices", "get_prices"),
        ("POST", "/v1/prices", "post_prices"),
        ("GET", "/v1/subscriptions/{id}", "get_subscriptions"),
        ("POST", "/v1/subscriptions/{id}", "post_subscriptions"),
        ("DELETE", "/v1/subscriptions/{id}", "delete_subscriptions"),
        ("POST", "/v1/subscription_schedules", "post_subscription_schedules"),
        ("GET", "/v1/subscription_schedules/{id}", "get_subscription_schedules"),
        ("POST", "/v1/subscription_schedules/{id}/release", "post_subscription_schedules_release"),
        ("POST", "/v1/subscription_schedules/{id}", "post_subscription_schedules_id"),
        ("GET", "/v1/invoices/{id}", "get_invoices"),
        ("GET", "/v1/invoice_payments", "get_invoice_payments"),
        ("POST", "/v1/refunds", "post_refunds"),
        ("GET", "/v1/refunds", "list_refunds"),
        ("GET", "/v1/refunds/{id}", "get_refunds"),
        ("POST", "/v1/refunds/{id}", "post_refunds_id"),
        ("GET", "/v1/events/{id}", "get_events"),
        ("GET", "/v1/charges/{id}", "get_charges"),
        ("GET", "/v1/disputes/{id}", "get_disputes"),
        ("GET", "/v1/disputes", "list_disputes"),
        ("POST", "/v1/customers/{id}", "post_customers_id"),
        ("POST", "/v1/payment_methods/{id}/attach", "post_payment_methods_attach"),
        ("POST", "/v1/subscriptions", "post_subscriptions_create"),
        ("POST", "/v1/test_helpers/test_clocks", "post_test_clocks"),
        ("GET", "/v1/test_helpers/test_clocks/{id}", "get_test_clocks"),
        ("POST", "/v1/test_helpers/test_clocks/{id}/advance", "post_test_clocks_advance"),
        ("DELETE", "/v1/test_helpers/test_clocks/{id}", "delete_test_clocks"),
    ]

    def handle(self, method: str, path: str, params: dict, api_key: str, idem: str | None):
        if api_key != self.api_key:
            raise StripeError(401, "invalid_request_error", "Invalid API Key provided.")
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern.replace("{id}", "(?P<id>[^/]+)"), path)
            if route_method == method and match:
                result = getattr(self, f"api_{name}")(params, **match.groupdict())
                return self._expand(result, params.get("expand") or [])
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _expand(self, obj: dict, paths: list[str]) -> dict:
        obj = json.loads(json.dumps(obj))
        for path in paths:
            value = obj.get(path)
            if isinstance(value, str) and value in self.objects:
                obj[path] = json.loads(json.dumps(self.objects[value]))
        return obj

    def api_get_account(self, params):
        return {"id": "acct_test_fake", "object": "account", "type": "standard", "email": None}

    def api_post_customers(self, params):
        return self.put(
            {
                "id": self.new_id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "name": params.get("name"),
                "address": self._address(params.get("address")),
                "metadata": params.get("metadata", {}),
                "livemode": False,
                "created": int(time.time()),
                "invoice_settings": {
                    "default_payment_method": None,
                    "custom_fields": (params.get("invoice_settings") or {}).get("custom_fields") or None,
                },
                "test_clock": params.get("test_clock"),
            }
        )

    @staticmethod
    def _address(address) -> dict | None:
        """A Customer's address as Stripe stores it ("" or absent: none; missing parts are null)."""
        if not address:
            return None
        parts = ("city", "country", "line1", "line2", "postal_code", "state")
        return {part: address.get(part) or None for part in parts}

    def api_get_customers(self, params, id):
        return self.get(id, "customer")

    def api_post_checkout_sessions(self, params):
        mode = params["mode"]
        customer = self.get(params["customer"], "customer")["id"]
        line_items = params["line_items"]
        if mode == "payment":
            amount = int(line_items[0]["price_data"]["unit_amount"])
            if params["line_items"][0]["price_data"]["currency"] != "usd":
                raise StripeError(400, "invalid_request_error", "Only usd here.")
        elif mode == "subscription":
            amount = int(self.get(line_items[0]["price"], "price")["unit_amount"])
        else:
            raise StripeError(400, "invalid_request_error", f"Invalid mode: {mode}")
        for url in ("success_url", "cancel_url"):
            if not params.get(url, "").startswith(("http://", "https://")):
                raise StripeError(400, "invalid_request_error", "Not a valid URL", param=url)
        session_id = self.new_id("cs")
        return self.put(
            {
                "id": session_id,
                "object": "checkout.session",
                "mode": mode,
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": amount,
                "currency": "usd",
                "customer": customer,
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata", {}),
                "payment_method_types": params.get("payment_method_types", []),
                "success_url": params["success_url"],
                "cancel_url": params["cancel_url"],
                "payment_intent": None,
                "subscription": None,
                "livemode": False,
                "created": int(time.time()),
            }
        ) | self._remember(
            session_id,
            {
                "line_items": line_items,
                "payment_intent_metadata": params.get("payment_intent_data", {}).get("metadata", {}),
                "payment_method_options": params.get("payment_method_options", {}),
                "subscription_metadata": params.get("subscription_data", {}).get("metadata", {}),
            },
        )

    def fail_next(self, method: str, path_prefix: str, status: int) -> None:
        """Answer the next matching request with Stripe's 409 / 429 / 5xx (nothing happens on Stripe)."""
        type_, message = {
            409: ("invalid_request_error", "Another request with this idempotency key is in progress."),
            429: ("invalid_request_error", "Too many requests hit the API too quickly."),
        }.get(status, ("api_error", "Something went wrong on Stripe's end."))
        code = {409: "idempotency_key_in_use", 429: "rate_limit"}.get(status)
        extra = {"code": code} if code else {}
        self.failures.append((method, path_prefix, StripeError(status, type_, message, **extra)))

    def take_failure(self, method: str, path: str):
        for index, (fail_method, prefix, error) in enumerate(self.failures):
            if fail_method == method and path.startswith(prefix):
                del self.failures[index]
                return error
        return None

    def _remember(self, object_id: str, private: dict) -> dict:
        """What the fake keeps about an object that Stripe does not return as a field of it."""
        self.private[object_id] = private
        return {}

    def api_get_checkout_sessions(self, params, id):
        return self.get(id, "checkout.session")

    def api_post_checkout_sessions_expire(self, params, id):
        session = self.get(id, "checkout.session")
        if session["status"] != "open":
            raise StripeError(
                400,
                "invalid_request_error",
                "Only Checkout Sessions with a status in ['open'] can be expired.",
            )
        session["status"] = "expired"
        return session

    def api_post_payment_intents(self, params):
        pm = self.get(params["payment_method"], "payment_method")
        if not _bool(params.get("confirm")) or not _bool(params.get("off_session")):
            raise StripeError(400, "invalid_request_error", "This fake only confirms off-session.")
        redirects = (params.get("automatic_payment_methods") or {}).get("allow_redirects")
        if not params.get("payment_method_types") and redirects != "never":
            # Stripe: automatic payment methods may redirect, which an off-session confirmation cannot do.
            raise StripeError(
                400,
                "invalid_request_error",
                "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. "
                "Because some of these payment methods might redirect your customer off of your page, you "
                "must provide a `return_url`. If you don't want to accept redirect-based payment methods, "
                "set `automatic_payment_methods[enabled]` to `true` and "
                "`automatic_payment_methods[allow_redirects]` to `never`.",
            )
        declined = pm["id"] in self.declined_payment_methods
        needs_auth = pm["id"] in self.authentication_required_payment_methods
        status = "requires_payment_method" if declined or needs_auth else "succeeded"
        if pm["id"] in self.processing_payment_methods:
            status = "processing"
        pi = self._payment_intent(
            amount=int(params["amount"]),
            customer=params.get("customer"),
            payment_method=pm["id"],
            metadata=params.get("metadata", {}),
            status=status,
        )
        if needs_auth:
            pi["last_payment_error"] = {
                "code": "authentication_required",
                "message": "Your card was declined. This transaction requires authentication.",
            }
            raise StripeError(
                402,
                "card_error",
                "Your card was declined. This transaction requires authentication.",
                code="authentication_required",
                decline_code="authentication_required",
                payment_intent=pi,
            )
        if declined:
            raise StripeError(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
                payment_intent=pi,
            )
        if pm["id"] in self.dispute_payment_methods and status == "succeeded":
            self.dispute(pi["id"])
        return pi

    def api_get_payment_intents(self, params, id):
        return self.get(id, "payment_intent")

    def api_get_payment_methods(self, params, id):
        return self.get(id, "payment_method")

    def api_get_prices(self, params):
        keys = params.get("lookup_keys") or []
        data = [o for o in self.objects.values() if o["object"] == "price" and o["lookup_key"] in keys]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/prices"}

    def api_post_prices(self, params):
        lookup_key = params.get("lookup_key")
        if lookup_key and any(
            o["object"] == "price" and o["lookup_key"] == lookup_key for o in self.objects.values()
        ):
            raise StripeError(400, "invalid_request_error", "A price with this lookup_key exists.")
        product = self.put(
            {
                "id": self.new_id("prod"),
                "object": "product",
                "name": params["product_data"]["name"],
                "active": True,
                "type": "service",
                "livemode": False,
                "created": int(time.time()),
                "metadata": params["product_data"].get("metadata", {}),
            }
        )
        return self.put(
            {
                "id": self.new_id("price"),
                "object": "price",
                "currency": params["currency"],
                "unit_amount": int(params["unit_amount"]),
                "recurring": {"interval": params["recurring"]["interval"], "interval_count": 1},
                "lookup_key": lookup_key,
                "metadata": params.get("metadata", {}),
                "product": product["id"],
                "active": True,
                "type": "recurring",
                "billing_scheme": "per_unit",
                "livemode": False,
                "created": int(time.time()),
            }
        )

    def api_get_products(self, params, id):
        return self.get(id, "product")

    def api_get_product_features(self, params, id):
        self.get(id, "product")
        return {"object": "list", "data": [], "has_more": False, "url": f"/v1/products/{id}/features"}

    def api_get_prices_id(self, params, id):
        return self.get(id, "price")

    def api_get_subscriptions(self, params, id):
        return self.get(id, "subscription")

    def api_post_subscriptions(self, params, id):
        sub = self.get(id, "subscription")
        if "cancel_at_period_end" in params and sub["schedule"]:
            raise StripeError(
                400,
                "invalid_request_error",
                f"The subscription is managed by the subscription schedule `{sub['schedule']}`, and "
                "updating any cancelation behavior directly is not allowed. Please update the schedule instead.",
            )
        if "items" in params:
            item = sub["items"]["data"][0]
            change = params["items"][0]
            if change["id"] != item["id"]:
                raise StripeError(400, "invalid_request_error", "No such subscription item")
            old, new = item["price"], self.get(change["price"], "price")
            pm = sub["default_payment_method"]
            if params.get("proration_behavior") == "always_invoice":
                if (
                    pm in self.declined_payment_methods
                    and params.get("payment_behavior") == "error_if_incomplete"
                ):
                    raise StripeError(402, "card_error", "Your card was declined.", code="card_declined")
                lines = self._proration_lines(item, old, new)
                invoice = self.invoice(sub, "subscription_update", sum(line["amount"] for line in lines))
                invoice["lines"]["data"] = lines
                sub["latest_invoice"] = invoice["id"]
            item["price"] = new  # the schedule and the cancel flag stay as they were (Stripe keeps them)
        if "cancel_at_period_end" in params:
            sub["cancel_at_period_end"] = _bool(params["cancel_at_period_end"])
        if "metadata" in params:
            sub["metadata"] = {**sub["metadata"], **params["metadata"]}
        return sub

    def _proration_lines(self, item, old, new) -> list[dict]:
        """Stripe's proration: unused time on the old price credited, remaining time on the new one
        charged, each prorated to the second and rounded on its own line."""
        now = int(time.time())
        start, end = max(now, item["current_period_start"]), item["current_period_end"]
        remaining, total = end - start, end - item["current_period_start"]
        credit = -round(old["unit_amount"] * remaining / total)
        charge = round(new["unit_amount"] * remaining / total)
        return [
            self._line(credit, old["id"], start, end, f"Unused time on {old['id']}"),
            self._line(charge, new["id"], start, end, f"Remaining time on {new['id']}"),
        ]

    def _line(self, amount: int, price_id: str, start: int, end: int, description: str) -> dict:
        return {
            "id": self.new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": "usd",
            "description": description,
            "pricing": {"type": "price_details", "price_details": {"price": price_id, "product": ""}},
            "period": {"start": start, "end": end},
        }

    def api_delete_subscriptions(self, params, id):
        sub = self.get(id, "subscription")
        sub["status"] = "canceled"
        sub["canceled_at"] = int(time.time())
        return sub

    def api_post_subscription_schedules(self, params):
        sub = self.get(params["from_subscription"], "subscription")
        if sub["schedule"]:
            raise StripeError(400, "invalid_request_error", "The subscription already has a schedule.")
        item = sub["items"]["data"][0]
        schedule = self.put(
            {
                "id": self.new_id("sub_sched"),
                "object": "subscription_schedule",
                "subscription": sub["id"],
                "status": "active",
                "end_behavior": "release",
                "phases": [
                    {
                        "start_date": item["current_period_start"],
                        "end_date": item["current_period_end"],
                        "items": [{"price": item["price"]["id"], "quantity": 1}],
                    }
                ],
            }
        )
        sub["schedule"] = schedule["id"]
        return schedule

    def api_get_subscription_schedules(self, params, id):
        return self.get(id, "subscription_schedule")

    def api_post_subscription_schedules_release(self, params, id):
        schedule = self.get(id, "subscription_schedule")
        if schedule["status"] not in ("not_started", "active"):  # Stripe: only these can be released
            raise StripeError(
                400,
                "invalid_request_error",
                f"You cannot release a subscription schedule that is {schedule['status']}.",
            )
        # Stripe keeps the subscription as it is and moves its id to `released_subscription`.
        self.objects[schedule["subscription"]]["schedule"] = None
        schedule.update(status="released", released_subscription=schedule["subscription"], subscription=None)
        return schedule

    def api_post_subscription_schedules_id(self, params, id):
        schedule = self.get(id, "subscription_schedule")
        for phase in params.get("phases", []):
            for item in phase["items"]:
                self.get(item["price"], "price")
        schedule["phases"] = params.get("phases", schedule["phases"])
        schedule["end_behavior"] = params.get("end_behavior", schedule["end_behavior"])
        return schedule

    def api_get_invoices(self, params, id):
        return self.get(id, "invoice")

    def api_get_invoice_payments(self, params):
        invoice = self.get(params["invoice"], "invoice")
        data = []
        if invoice["id"] in self.invoice_payments and invoice["status"] == "paid":
            data.append(
                {
                    "id": f"inpay_{invoice['id']}",
                    "object": "invoice_payment",
                    "invoice": invoice["id"],
                    "status": "paid",
                    "amount_paid": invoice["amount_paid"],
                    "payment": {
                        "type": "payment_intent",
                        "payment_intent": self.invoice_payments[invoice["id"]],
                    },
                }
            )
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"}

    def api_post_refunds(self, params):
        pi = self.get(params["payment_intent"], "payment_intent")
        amount = int(params.get("amount", pi["amount_received"]))
        if amount > pi["amount_received"]:
            raise StripeError(400, "invalid_request_error", "Refund amount is greater than the charge.")
        return self.put(
            {
                "id": self.new_id("re"),
                "object": "refund",
                "amount": amount,
                "currency": "usd",
                "payment_intent": pi["id"],
                "charge": pi.get("latest_charge"),
                "status": self.refund_status,
                "metadata": params.get("metadata", {}),
            }
        )

    def api_get_refunds(self, params, id):
        return self.get(id, "refund")

    def api_list_refunds(self, params):
        intent = params.get("payment_intent")
        data = [o for o in self.objects.values() if o["object"] == "refund" and o["payment_intent"] == intent]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}

    def api_post_refunds_id(self, params, id):
        refund = self.get(id, "refund")
        refund["metadata"] = {**refund["metadata"], **params.get("metadata", {})}
        return refund

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> dict:
        """Stripe's side: the bank settles (or fails) a pending refund; returns the refund object."""
        refund = self.objects[refund_id]
        refund["status"] = status
        if status == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        return refund

    def charge_of(self, refund_id: str) -> dict:
        """The Charge of a refund's PaymentIntent, as a `charge.refunded` event carries it (stored for GET)."""
        return self.charge_for(self.objects[refund_id]["payment_intent"])

    def charge_for(self, intent_id: str, *, disputed: bool = False) -> dict:
        """The Charge of a PaymentIntent as Stripe would return it now (stored for GET)."""
        pi = self.objects[intent_id]
        charge_id = pi.get("latest_charge") or self.new_id("ch")
        pi["latest_charge"] = charge_id
        refunded = sum(
            o["amount"]
            for o in self.objects.values()
            if o["object"] == "refund" and o["payment_intent"] == pi["id"] and o["status"] == "succeeded"
        )
        return self.put(
            {
                "id": charge_id,
                "object": "charge",
                "amount": pi["amount"],
                "amount_captured": pi["amount_received"],
                "amount_refunded": refunded,
                "captured": True,
                "created": int(time.time()),
                "currency": "usd",
                "customer": pi["customer"],
                "description": None,
                "livemode": False,
                "metadata": {},
                "paid": True,
                "payment_intent": pi["id"],
                "payment_method": None,
                "refunded": refunded >= pi["amount_received"],
                "status": "succeeded",
                "balance_transaction": None,
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "outcome": None,
                "failure_code": None,
                "failure_message": None,
                "fraud_details": {},
                "receipt_url": None,
                "source": None,
                "transfer_group": None,
                "disputed": disputed,
                "statement_descriptor": None,
            }
        )

    def dispute(self, intent_id: str, *, status: str = "needs_response", reason: str = "fraudulent") -> dict:
        """The cardholder disputes a PaymentIntent's charge (a `pm_card_createDispute` payment)."""
        pi = self.objects[intent_id]
        charge_id = self.charge_for(intent_id, disputed=True)["id"]
        existing = next(
            (
                o
                for o in self.objects.values()
                if o["object"] == "dispute" and o["payment_intent"] == intent_id
            ),
            None,
        )
        if existing is not None:
            existing["status"] = status
            return existing
        return self.put(
            {
                "id": self.new_id("dp"),
                "object": "dispute",
                "amount": pi["amount_received"],
                "currency": "usd",
                "charge": charge_id,
                "payment_intent": intent_id,
                "reason": reason,
                "status": status,
                "created": int(time.time()),
                "livemode": False,
                "is_charge_refundable": False,
                "metadata": {},
                "balance_transactions": [],
                "evidence": {},
                "evidence_details": {
                    "due_by": int(time.time()) + 7 * 24 * 3600,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
            }
        )

    # -- what `manage.py stripe_rehearsal` uses: test clocks, attaching test cards, direct subscriptions ----
    TEST_CARDS = {"pm_card_visa", "pm_card_authenticationRequired", "pm_card_createDispute"}

    def api_post_test_clocks(self, params):
        return self.put(
            {
                "id": self.new_id("clock"),
                "object": "test_helpers.test_clock",
                "frozen_time": int(params["frozen_time"]),
                "name": params.get("name"),
                "status": "ready",
                "created": int(time.time()),
                "livemode": False,
                "deletes_after": int(time.time()) + 30 * 24 * 3600,
            }
        )

    def api_get_test_clocks(self, params, id):
        return self.get(id, "test_helpers.test_clock")

    def api_post_test_clocks_advance(self, params, id):
        clock = self.get(id, "test_helpers.test_clock")
        frozen = int(params["frozen_time"])
        if frozen <= clock["frozen_time"]:
            raise StripeError(400, "invalid_request_error", "The frozen time must be after the current one.")
        clock["frozen_time"] = frozen
        customers = {
            o["id"] for o in self.objects.values() if o["object"] == "customer" and o.get("test_clock") == id
        }
        for sub in [
            o for o in self.objects.values() if o["object"] == "subscription" and o["customer"] in customers
        ]:
            while sub["status"] == "active" and sub["items"]["data"][0]["current_period_end"] <= frozen:
                self.renew(sub["id"])
        return clock

    def api_delete_test_clocks(self, params, id):
        self.get(id, "test_helpers.test_clock")
        del self.objects[id]
        return {"id": id, "object": "test_helpers.test_clock", "deleted": True}

    def api_post_customers_id(self, params, id):
        customer = self.get(id, "customer")
        settings_ = params.get("invoice_settings") or {}
        if "name" in params:  # "" unsets, as in Stripe
            customer["name"] = params["name"] or None
        if "address" in params:
            customer["address"] = self._address(params["address"])
        if "custom_fields" in settings_:
            customer["invoice_settings"]["custom_fields"] = settings_["custom_fields"] or None
        if "default_payment_method" in settings_:
            self.get(settings_["default_payment_method"], "payment_method")
            customer["invoice_settings"]["default_payment_method"] = settings_["default_payment_method"]
        return customer

    def api_post_payment_methods_attach(self, params, id):
        customer = self.get(params["customer"], "customer")["id"]
        if id not in self.TEST_CARDS:
            method = self.get(id, "payment_method")
            method["customer"] = customer
            return method
        method = self.payment_method(customer=customer)
        if id == "pm_card_authenticationRequired":
            self.authentication_required_payment_methods.add(method["id"])
        if id == "pm_card_createDispute":
            self.dispute_payment_methods.add(method["id"])
        return method

    def api_post_subscriptions_create(self, params):
        customer = self.get(params["customer"], "customer")
        price = self.get(params["items"][0]["price"], "price")
        method = (
            params.get("default_payment_method") or customer["invoice_settings"]["default_payment_method"]
        )
        if not method:
            raise StripeError(400, "invalid_request_error", "This customer has no attached payment source.")
        sub = self._subscription(customer["id"], price, method, params.get("metadata", {}))
        sub["latest_invoice"] = self.invoice(sub, "subscription_create", price["unit_amount"])["id"]
        return sub

    def api_list_disputes(self, params):
        intent = params.get("payment_intent")
        data = [
            o for o in self.objects.values() if o["object"] == "dispute" and o["payment_intent"] == intent
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/disputes"}

    def api_get_disputes(self, params, id):
        return self.get(id, "dispute")

    def api_get_charges(self, params, id):
        return self.get(id, "charge")

    def api_get_events(self, params, id):
        return self.get(id, "event")

    # -- server --------------------------------------------------------------------------------------
    def start(self) -> "FakeStripe":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = parse_form(
                    parse_qsl(split.query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
                )  # "" unsets a field, as in Stripe
                idem = self.headers.get("Idempotency-Key")
                api_key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                with fake.lock:
                    fake.requests.append(RecordedRequest(method, split.path, params, idem, api_key))
                    problems = stripe_contract.check_request(method, split.path, params)
                    fake.violations += problems
                    replay_key = (method, split.path, idem)
                    injected = fake.take_failure(method, split.path)
                    if (
                        injected is not None
                    ):  # 409 / 429 / 5xx played by a test: nothing happens, no key stored
                        status, payload = injected.status, injected.body
                    elif (
                        method != "GET"
                        and idem
                        and idem in fake.idempotent_params
                        and (fake.idempotent_params[idem] != (method, split.path, params))
                    ):  # Stripe: a key reused with other parameters is refused, never replayed
                        error = StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they "
                            "were first used with.",
                        )
                        status, payload = error.status, error.body
                    elif method != "GET" and idem and replay_key in fake.idempotent:
                        status, payload = fake.idempotent[replay_key]
                    else:
                        try:
                            if problems:  # Stripe refuses what its own API definition does not allow
                                raise StripeError(400, "invalid_request_error", "; ".join(problems))
                            status, payload = (
                                200,
                                fake.checked(fake.handle(method, split.path, params, api_key, idem)),
                            )
                        except StripeError as error:
                            status, payload = error.status, error.body
                        except Exception as error:  # a bug in the fake: say so instead of hanging up
                            status, payload = 500, {"error": {"type": "api_error", "message": repr(error)}}
                        if method != "GET" and idem:
                            fake.idempotent[replay_key] = (status, payload)
                            fake.idempotent_params[idem] = (method, split.path, params)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
