from django.core.management.base import BaseCommand

from apps.plans.seed import seed_catalog


class Command(BaseCommand):
    help = "Create the plans, model catalog and initial Flow rate if missing (idempotent)."

    def handle(self, *args, **options):
        created = seed_catalog()
        self.stdout.write(
            f"Seeded: {created['plans']} plans, {created['models']} models, {created['rates']} Flow rates created."
        )
