from celery import shared_task

from apps.abuse.services import anomalies_detect


@shared_task(name="abuse.detect_anomalies")
def detect_anomalies() -> int:
    return len(anomalies_detect())
