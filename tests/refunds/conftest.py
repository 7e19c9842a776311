# The Stripe fixtures (fake server, signed webhook delivery, checkout) are the billing tests' own.
from tests.billing.conftest import deliver, fake_stripe, stripe_subscribe, webhook_endpoint  # noqa: F401
