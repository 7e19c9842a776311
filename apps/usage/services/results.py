"""What the metering services return (and the gateway API serializes)."""

from dataclasses import dataclass
from decimal import Decimal

from apps.core.money import round_usage
from apps.usage.models import (
    Decision,
    Reservation,
    UsageEvent,
)

# --- Results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizeResult:
    request_id: str
    decision: str
    extra_usage: bool
    account_id: int
    key_id: int
    reserved_flows: Decimal
    reserved_usd: Decimal
    rpm_remaining: int | None
    replayed: bool = False

    @classmethod
    def from_reservation(cls, reservation: Reservation, *, replayed: bool) -> "AuthorizeResult":
        return cls(
            request_id=reservation.request_id,
            decision=reservation.decision,
            extra_usage=reservation.extra_usage,
            account_id=reservation.account_id,
            key_id=reservation.api_key_id,
            reserved_flows=reservation.reserved_flows,
            reserved_usd=reservation.reserved_usd,
            rpm_remaining=reservation.rpm_remaining,
            replayed=replayed,
        )

    def as_data(self) -> dict:
        data = {
            "request_id": self.request_id,
            "decision": self.decision,
            "extra_usage": self.extra_usage,
            "account_id": self.account_id,
            "key_id": self.key_id,
        }
        if self.decision == Decision.SUBSCRIPTION:
            data["reserved_flows"] = str(round_usage(self.reserved_flows))
        else:
            data["reserved_usd"] = str(round_usage(self.reserved_usd))
        data["rpm_remaining"] = self.rpm_remaining
        return data


@dataclass(frozen=True)
class UsageResult:
    request_id: str
    billed_to: str
    extra_usage: bool
    flows: Decimal
    cost_usd: Decimal
    replayed: bool = False

    @classmethod
    def from_event(cls, event: UsageEvent, *, replayed: bool) -> "UsageResult":
        return cls(
            request_id=event.request_id,
            billed_to=event.billed_to,
            extra_usage=event.extra_usage,
            flows=event.flows,
            cost_usd=event.cost_usd,
            replayed=replayed,
        )

    def as_data(self) -> dict:
        return {
            "request_id": self.request_id,
            "billed_to": self.billed_to,
            "extra_usage": self.extra_usage,
            "flows": str(round_usage(self.flows)),
            "cost_usd": str(round_usage(self.cost_usd)),
        }


@dataclass(frozen=True)
class ReleaseResult:
    request_id: str
    status: str
    released: bool  # False when this call changed nothing (a replay, or the request was settled)

    def as_data(self) -> dict:
        return {"request_id": self.request_id, "status": self.status}
