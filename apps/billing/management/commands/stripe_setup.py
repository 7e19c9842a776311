"""Register the Stripe webhook endpoint with dj-stripe from the environment (idempotent).

    STRIPE_WEBHOOK_SECRET=whsec_… [STRIPE_WEBHOOK_UUID=<uuid>] manage.py stripe_setup [--endpoint-id we_…]

Creates or updates the `djstripe.WebhookEndpoint` row that holds the signing secret; Stripe must POST
to /stripe/webhook/<its uuid>/ with the events printed below enabled.
"""

import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from djstripe.models import WebhookEndpoint

from apps.billing.stripe_handlers import HANDLED_EVENTS


class Command(BaseCommand):
    help = "Create or update the dj-stripe WebhookEndpoint (signing secret) from STRIPE_WEBHOOK_SECRET."

    def add_arguments(self, parser):
        parser.add_argument(
            "--endpoint-id",
            default="we_flowport",
            help="Stripe's id of the endpoint (we_…), if created in the Dashboard; any stable id otherwise.",
        )

    def handle(self, *args, endpoint_id, **options):
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret.startswith("whsec_"):
            raise CommandError("Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…).")
        wanted_uuid = settings.STRIPE_WEBHOOK_UUID
        try:
            wanted_uuid = uuid.UUID(wanted_uuid) if wanted_uuid else None
        except ValueError as error:
            raise CommandError("STRIPE_WEBHOOK_UUID is not a UUID.") from error
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().filter(id=endpoint_id).first()
            if endpoint is None:
                endpoint = WebhookEndpoint(id=endpoint_id)
            endpoint.livemode = bool(settings.STRIPE_LIVE_MODE)
            endpoint.secret = secret
            endpoint.status = "enabled"
            endpoint.enabled_events = list(HANDLED_EVENTS)
            endpoint.api_version = settings.STRIPE_API_VERSION
            if wanted_uuid:
                endpoint.djstripe_uuid = wanted_uuid
            path = f"/stripe/webhook/{endpoint.djstripe_uuid}/"
            endpoint.url = settings.SITE_URL.rstrip("/") + path
            endpoint.save()
        self.stdout.write(f"Webhook endpoint {endpoint.id}: {endpoint.url}")
        self.stdout.write("Enable these events: " + ", ".join(HANDLED_EVENTS))
        self.stdout.write(f"Local forwarding: stripe listen --forward-to localhost:8000{path}")
