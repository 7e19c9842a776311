from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.plans.seed import seed_catalog
from apps.plans.services import subscription_ensure

DEMO_EMAIL = "demo@flowport.local"
DEMO_PASSWORD = "demo-flowport-2026"
STAFF_EMAIL = "staff@flowport.local"
STAFF_PASSWORD = "staff-flowport-2026"


class Command(BaseCommand):
    help = "Seed the catalog and create the demo customer and staff user if missing; print their credentials."

    def handle(self, *args, **options):
        seed_catalog()
        if not User.objects.filter(email=DEMO_EMAIL).exists():
            User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, name="Demo Customer")
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(STAFF_EMAIL, STAFF_PASSWORD, name="Staff")
        for account in User.objects.filter(subscription__isnull=True):
            subscription_ensure(account=account)
        self.stdout.write(self.style.SUCCESS("Flowport is ready at http://127.0.0.1:8000"))
        self.stdout.write(f"  Demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Staff (admin at /admin/): {STAFF_EMAIL} / {STAFF_PASSWORD}")
