"""The metering engine (SPEC §5, §7): authorize → usage | release, keyed by the gateway's request id.

Guarantee: a request is admitted only while every window has room (`used + reserved < max`), checked
and reserved under the window row locks in one transaction, so no window ends more than one request's
cost above its max whatever the concurrency (as long as estimates cover actual costs). Each window's
`used_flows` is exactly the sum of the Flows of the usage events settled into it.
"""

from apps.usage.services.authorize import (
    ClientInfo,
    client_info_clean,
    extra_usage_authorize,
    meter_authorize,
)
from apps.usage.services.jobs import client_ips_clear, quota_windows_roll_expired, reservations_release_stale
from apps.usage.services.resets import WindowResetRefused, five_hour_window_reset, window_auto_reset_set
from apps.usage.services.results import AuthorizeResult, ReleaseResult, UsageResult
from apps.usage.services.settle import meter_release, meter_usage, usage_cost_from_list_prices

__all__ = [
    "AuthorizeResult",
    "ClientInfo",
    "client_info_clean",
    "client_ips_clear",
    "ReleaseResult",
    "UsageResult",
    "WindowResetRefused",
    "five_hour_window_reset",
    "window_auto_reset_set",
    "extra_usage_authorize",
    "meter_authorize",
    "meter_release",
    "meter_usage",
    "quota_windows_roll_expired",
    "reservations_release_stale",
    "usage_cost_from_list_prices",
]
