"""Run the periodic jobs of CELERY_BEAT_SCHEDULE without a broker (the `make run` default).

With a broker configured, run `celery -A config beat` and a worker instead (README). Every job is
idempotent and safe to run late or twice, so a simple interval loop is exact enough here.
"""

import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand


def _interval_seconds(schedule) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return float(schedule.run_every.total_seconds())  # celery.schedules.schedule


class Command(BaseCommand):
    help = "Run the periodic jobs in-process on their schedule (for the broker-less local default)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args, once: bool = False, **options):
        current_app.loader.import_default_modules()  # autodiscover the apps' tasks.py (lazy otherwise)
        jobs = {
            name: {"task": entry["task"], "every": _interval_seconds(entry["schedule"]), "next": 0.0}
            for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        }
        self.stdout.write(f"Scheduler: {len(jobs)} periodic jobs.")
        while True:
            now = time.monotonic()
            for name, job in jobs.items():
                if now >= job["next"]:
                    try:
                        current_app.tasks[job["task"]].apply()
                    except Exception as error:  # keep the loop alive; the job runs again next time
                        self.stderr.write(f"{name} failed: {error!r}")
                    job["next"] = now + job["every"]
            if once:
                return
            time.sleep(1)
