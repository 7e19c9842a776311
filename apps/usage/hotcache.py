"""Per-process caches for the metering hot path, with a shared version stamp (ARCHITECTURE: usage).

Cached here: catalog models (by slug and id, with their lowest plan's rank), plans and the base Flow
rate, all staff-edited; and what an account's requests need before they touch the database (key →
account, the account's status, multiplier and plan, for the RPM limit and the Flow estimate).

Staleness rules:
- Staff edits of CatalogModel, Plan and FlowRate bump a version stamp held in the shared cache
  (Redis in production) after their transaction commits. Each process re-reads the stamp at most every
  `METERING_CACHE_CHECK_SECONDS` (0.5 s) and drops everything when it moved, so an edit takes effect
  everywhere within a second. If the stamp cannot be read (Redis down), the process drops its caches at
  every check: it stays correct, only slower.
- A future-dated Flow rate takes effect at its `effective_from` without any edit: the cached rate
  carries the time the next one starts and is reloaded then.
- Key and account facts are never trusted for money: the hot-path statements re-check the key's
  hash, status and deletion, the account's status and multiplier and the subscription's plan and
  period in the same statement that reserves or settles, and fall back to the full path on any
  difference (the caller then calls `account_forget`).
"""

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import AccountStatus

STAMP_KEY = "flowport:metering:stamp"
PLAIN_RATE_KIND = (Decimal("1"), False)  # multiplier 1, not abusive: the Flow rate of most accounts
RATE_KINDS_MAX = 8


@dataclass(frozen=True)
class ModelFacts:
    id: int
    slug: str
    status: str
    min_plan_rank: int
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    usd_per_request: Decimal | None

    @property
    def has_list_prices(self) -> bool:
        return any(
            p is not None for p in (self.input_usd_per_mtok, self.output_usd_per_mtok, self.usd_per_request)
        )


@dataclass(frozen=True)
class KeyFacts:
    """A key record's facts (a rotation changes the hash, so the entry goes unused).

    Its limits (issue #22) can change: the authorize statement re-checks that they are still these
    (fastpath.py), and the caller forgets the entry when they are not (`key_forget`).
    """

    id: int
    account_id: int
    kind: str
    spend_limit: Decimal | None = None
    spend_limit_period: str = ""
    allowed_models: tuple[str, ...] = ()
    allowed_models_json: str = "[]"  # as the database has it, for the statement's re-check
    rpm_limit: int | None = None


@dataclass(frozen=True)
class AccountFacts:
    status: str
    flow_value_multiplier: Decimal
    plan_id: int
    plan_rank: int
    plan_rpm: int
    plan_name: str


@dataclass(frozen=True)
class RateFacts:
    usd_per_flow: Decimal
    valid_until: datetime | None  # when a future-dated rate takes over


class MeteringCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.clock = time.monotonic
        self.stamp: object = None
        self.checked_at = float("-inf")
        self.models: dict[str, ModelFacts | None] = {}
        self.models_by_id: dict[int, ModelFacts] = {}
        self.keys: dict[str, KeyFacts] = {}
        self.accounts: dict[int, AccountFacts] = {}
        self.rate: RateFacts | None = None
        self.touched: dict[int, float] = {}  # key id → when this process last touched it (monotonic)
        # The (multiplier, abusive) pairs of the accounts seen, which decide their Flow rate (at most
        # RATE_KINDS_MAX, first seen first): usage computes a call's Flows for each before it knows
        # which account the request id belongs to (settle.py `_usage_fast`).
        self.rate_kinds: dict[tuple[Decimal, bool], None] = {PLAIN_RATE_KIND: None}

    def clear(self) -> None:
        self.models.clear()
        self.models_by_id.clear()
        self.keys.clear()
        self.accounts.clear()
        self.rate = None
        self.touched.clear()
        self.rate_kinds = {PLAIN_RATE_KIND: None}

    def check(self) -> None:
        """Drop everything when the shared stamp moved (read at most every check interval)."""
        now = self.clock()
        if now - self.checked_at < settings.METERING_CACHE_CHECK_SECONDS:
            return
        try:
            stamp = cache.get(STAMP_KEY)
            if stamp is None:  # first process up, or the cache was flushed: set one for everyone
                cache.add(STAMP_KEY, uuid.uuid4().hex, timeout=None)
                stamp = cache.get(STAMP_KEY)
        except Exception:  # the shared cache is down: trust nothing for longer than one interval
            stamp = object()
        with self.lock:
            self.checked_at = now
            if stamp is None or stamp != self.stamp:
                self.clear()
                self.stamp = stamp if stamp is not None else object()


_cache = MeteringCache()


def metering_cache() -> MeteringCache:
    _cache.check()
    return _cache


def metering_cache_reset() -> None:
    """Drop this process's metering caches now (tests; a staff edit in this process)."""
    with _cache.lock:
        _cache.clear()
        _cache.checked_at = float("-inf")


def metering_stamp_bump() -> None:
    """Drop this process's caches now and every process's once the current transaction commits."""

    def bump():
        # With the shared cache down, every process already drops its caches at each check.
        with contextlib.suppress(Exception):
            cache.set(STAMP_KEY, uuid.uuid4().hex, timeout=None)
        metering_cache_reset()

    metering_cache_reset()
    transaction.on_commit(bump)


def model_facts(slug: str) -> ModelFacts | None:
    """The catalog model for a slug (None when unknown), from the process cache."""
    from apps.plans.models import CatalogModel

    c = metering_cache()
    if slug in c.models:
        return c.models[slug]
    model = CatalogModel.objects.select_related("min_plan").filter(slug=slug).first()
    facts = None
    if model is not None:
        facts = ModelFacts(
            id=model.pk,
            slug=model.slug,
            status=model.status,
            min_plan_rank=model.min_plan.rank,
            input_usd_per_mtok=model.input_usd_per_mtok,
            output_usd_per_mtok=model.output_usd_per_mtok,
            usd_per_request=model.usd_per_request,
        )
        c.models_by_id[facts.id] = facts
    c.models[slug] = facts
    return facts


def model_facts_by_id(model_id: int) -> ModelFacts:
    from apps.plans.models import CatalogModel

    c = metering_cache()
    facts = c.models_by_id.get(model_id)
    if facts is None:
        slug = CatalogModel.objects.filter(pk=model_id).values_list("slug", flat=True).get()
        facts = model_facts(slug)
    return facts


def base_rate() -> Decimal:
    """The base USD per Flow in effect now (the same answer as plans.selectors.flow_rate_current())."""
    from apps.plans.models import FlowRate

    now = timezone.now()
    c = metering_cache()
    rate = c.rate
    if rate is None or (rate.valid_until is not None and now >= rate.valid_until):
        current = (
            FlowRate.objects.filter(effective_from__lte=now)
            .order_by("-effective_from", "-id")
            .values_list("usd_per_flow", flat=True)
            .first()
        )
        upcoming = (
            FlowRate.objects.filter(effective_from__gt=now)
            .order_by("effective_from")
            .values_list("effective_from", flat=True)
            .first()
        )
        rate = RateFacts(
            usd_per_flow=current if current is not None else settings.FLOWPORT_DEFAULT_USD_PER_FLOW,
            valid_until=upcoming,
        )
        c.rate = rate
    return rate.usd_per_flow


def key_facts(secret_hash: str) -> KeyFacts | None:
    return metering_cache().keys.get(secret_hash)


def account_facts(account_id: int) -> AccountFacts | None:
    return metering_cache().accounts.get(account_id)


def facts_remember(*, secret_hash: str, loaded) -> tuple[KeyFacts, AccountFacts]:
    """Remember a key and its account (loaded by fastpath.facts_load)."""
    c = metering_cache()
    key = KeyFacts(
        id=loaded.key_id,
        account_id=loaded.account_id,
        kind=loaded.kind,
        spend_limit=loaded.spend_limit,
        spend_limit_period=loaded.spend_limit_period,
        allowed_models=tuple(json.loads(loaded.allowed_models_json)),
        allowed_models_json=loaded.allowed_models_json,
        rpm_limit=loaded.rpm_limit,
    )
    account = AccountFacts(
        status=loaded.status,
        flow_value_multiplier=loaded.flow_value_multiplier,
        plan_id=loaded.plan_id,
        plan_rank=loaded.plan_rank,
        plan_rpm=loaded.plan_rpm,
        plan_name=loaded.plan_name,
    )
    c.keys[secret_hash] = key
    c.accounts[key.account_id] = account
    kind = (account.flow_value_multiplier, account.status == AccountStatus.ABUSIVE)
    if kind not in c.rate_kinds and len(c.rate_kinds) < RATE_KINDS_MAX:
        c.rate_kinds = {**c.rate_kinds, kind: None}  # replaced, not changed: readers iterate it unlocked
    return key, account


def rate_kinds() -> list[tuple[Decimal, bool]]:
    return list(metering_cache().rate_kinds)


def touched() -> dict[int, float]:
    return _cache.touched


def account_forget(account_id: int) -> None:
    _cache.accounts.pop(account_id, None)


def key_forget(secret_hash: str) -> None:
    _cache.keys.pop(secret_hash, None)
