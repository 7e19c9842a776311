"""Production: everything from the environment; passes `manage.py check --deploy`."""

from csp.constants import NONCE, NONE, SELF

from config.env import env

from .base import *  # noqa: F403

DEBUG = False
# Persistent database connections: opening one per request costs more than a whole metering call.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # noqa: F405
# Health checks cost a `SELECT 1` round trip on each request's first query; without them a connection
# that died (database restart) fails one request per worker with a 503 and is then replaced (README).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)  # noqa: F405
SECRET_KEY = env("SECRET_KEY")
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
FLOWPORT_ADMIN_REQUIRE_MFA = env.bool("FLOWPORT_ADMIN_REQUIRE_MFA", default=True)
FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = False  # webhook URLs resolving to private addresses are refused
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Content-Security-Policy (django-csp 4): scripts and styles from this site only (vendored HTMX, Pico,
# Swagger UI), inline ones only with the per-request nonce (`request.csp_nonce`, used by the API docs
# page); no inline event handlers anywhere. Forms may post to this site and be redirected to Stripe
# Checkout. HTMX is configured not to inject inline styles (templates/base.html).
MIDDLEWARE = [*MIDDLEWARE, "csp.middleware.CSPMiddleware"]  # noqa: F405
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF, "https://checkout.stripe.com"],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
