from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts.models import User
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_create
from apps.core.dates import add_months
from apps.plans.models import Subscription
from apps.plans.seed import seed_catalog

DEMO_EMAIL = "demo@flowport.local"
DEMO_PASSWORD = "demo-flowport-2026"  # noqa: S105 -- the demo login bootstrap_demo prints
STAFF_EMAIL = "staff@flowport.local"
STAFF_PASSWORD = "staff-flowport-2026"  # noqa: S105 -- the demo login bootstrap_demo prints
DEMO_KEY_NAME = "Demo subscription key · 演示订阅密钥"  # a name (data): readable in both languages
# The demo customer "joined" this long ago, so the history `simulate_traffic` lays down falls inside its
# current billing cycle (and the quota cards agree with the cycle's Flow breakdown).
DEMO_HISTORY_DAYS = 3


class Command(BaseCommand):
    help = "Seed the catalog and create the demo customer and staff user if missing; print their credentials."

    def handle(self, *args, **options):
        if not settings.FLOWPORT_DEMO_ACCOUNTS:
            # Their passwords are published in the README: never on a deployment anyone else can reach.
            raise CommandError(
                "bootstrap_demo creates accounts with published passwords and runs only under the local "
                "settings (config.settings.local, `make run`). On a deployment, seed the catalog with "
                "`manage.py seed_catalog` and create staff with `manage.py createsuperuser`."
            )
        seed_catalog()
        if not User.objects.filter(email=DEMO_EMAIL).exists():
            self._create_demo_customer()
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(STAFF_EMAIL, STAFF_PASSWORD, name="Staff")
        demo = User.objects.get(email=DEMO_EMAIL)
        secret = None
        if not ApiKey.objects.live().filter(account=demo, kind=ApiKeyKind.SUBSCRIPTION).exists():
            _key, secret = api_key_create(account=demo, kind=ApiKeyKind.SUBSCRIPTION, name=DEMO_KEY_NAME)
        self.stdout.write(self.style.SUCCESS("Flowport is ready at http://127.0.0.1:8000"))
        self.stdout.write(f"  Demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Staff (admin at /admin/): {STAFF_EMAIL} / {STAFF_PASSWORD}")
        self._gateway(secret)

    def _create_demo_customer(self) -> None:
        demo = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo Customer")
        joined = timezone.now() - timedelta(days=DEMO_HISTORY_DAYS)
        User.objects.filter(pk=demo.pk).update(date_joined=joined)
        Subscription.objects.filter(account=demo).update(
            current_period_start=joined, current_period_end=add_months(joined, 1)
        )

    def _gateway(self, secret: str | None) -> None:
        token = settings.GATEWAY_TOKEN
        self.stdout.write(f"  Gateway service token: {token or '(not set: GATEWAY_TOKEN is empty)'}")
        if secret:
            self.stdout.write(
                f"  Demo subscription key (shown once, now; it is stored only as a hash): {secret}"
            )
        else:
            self.stdout.write(
                "  Demo subscription key: created earlier and shown only then; create or rotate one in "
                "the console to get a new secret."
            )
        self.stdout.write("  Try the metering API:")
        self.stdout.write(
            "    curl -s http://127.0.0.1:8000/api/v1/gateway/authorize "
            f"-H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
            f"""-d '{{"request_id": "gen_demo_1", "api_key": "{secret or "sk-ss-v1-..."}", """
            """"model": "deepseek/deepseek-chat", "estimated_cost_usd": "0.01"}'"""
        )
