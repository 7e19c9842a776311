"""Seed the Free plan (SPEC §2) and give every account without a subscription its Free one.

Every account has exactly one subscription from the moment it exists (`account_create` runs the
`account_created` hook, whose plans handler needs the Free plan): so the Free plan must exist before
the first account does, which a data migration guarantees. Accounts created before this migration
(when a missing subscription was filled in lazily) are backfilled here.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations


def _add_month(moment: datetime) -> datetime:
    # Same rule as apps.core.dates.add_months (frozen here: a migration must not import app code).
    import calendar

    year, month = divmod(moment.month, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def seed_free_plan(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    Subscription = apps.get_model("plans", "Subscription")
    User = apps.get_model("accounts", "User")
    free = Plan.objects.filter(price_usd=0).order_by("rank").first()
    if free is None:
        free, _created = Plan.objects.get_or_create(
            tier="free",
            defaults={
                "name": "Free",
                "rank": 0,
                "price_usd": Decimal("0"),
                "quota_5h_flows": Decimal("5"),
                "weekly_max_flows": Decimal("50.4"),
                "monthly_max_flows": Decimal("216"),
                "rpm": 10,
            },
        )
    start = datetime.now(tz=UTC)
    Subscription.objects.bulk_create(
        [
            Subscription(
                account_id=account_id,
                plan=free,
                current_period_start=start,
                current_period_end=_add_month(start),
            )
            for account_id in User.objects.filter(subscription__isnull=True).values_list("pk", flat=True)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("plans", "0003_catalog_price_constraints"),
    ]

    operations = [migrations.RunPython(seed_free_plan, migrations.RunPython.noop)]
