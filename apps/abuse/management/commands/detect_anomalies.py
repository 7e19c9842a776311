"""Run the anomaly job once (SPEC §13, §14); the Celery beat schedule runs it every 15 minutes."""

from django.core.management.base import BaseCommand

from apps.abuse.services import anomalies_detect


class Command(BaseCommand):
    help = "Compute every account's anomaly signals and raise healthy accounts over a threshold to monitored."

    def handle(self, *args, **options):
        raised = anomalies_detect()
        self.stdout.write(f"Anomaly check done: {len(raised)} account(s) raised to monitored.")
