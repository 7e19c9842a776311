"""Settings shared by every environment. Everything that differs comes from the environment (README)."""

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, VAR_DIR, database, env

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.admin.FlowportAdminConfig",  # django.contrib.admin with Flowport's sections first
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_htmx",
    "django_countries",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djstripe",
    "anymail",
    "apps.core",
    "apps.accounts",
    "apps.plans",
    "apps.billing",
    "apps.wallet",
    "apps.api_keys",
    "apps.usage",
    "apps.refunds",
    "apps.abuse",
    "apps.extra_usage",
    "apps.notifications",
    "apps.management_api",
    "apps.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The gateway's metering calls skip the browser middleware below (see the module).
    "apps.usage.middleware.GatewayShortcutMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.console.middleware.HtmxLoginRedirectMiddleware",
    "apps.accounts.middleware.StaffMfaRequiredMiddleware",
    "apps.console.middleware.HtmxToastMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "apps.console.context_processors.site",
            ],
        },
    }
]

DATABASES = {"default": database(default=f"sqlite:///{VAR_DIR / 'flowport.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "apps.accounts.validators.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "console:home"

# django-allauth: e-mail is the identifier.
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGOUT_REDIRECT_URL = "pricing"
# allauth's rate limits (its defaults, written out): a sign-in with a wrong password counts against the
# address (5 in FLOWPORT_LOGIN_LOCKOUT_SECONDS) and the client IP (10 a minute); the first refusal in a
# window e-mails the address's owner (templates/account/email/login_lockout_*.txt).
FLOWPORT_LOGIN_LOCKOUT_SECONDS = env.int("FLOWPORT_LOGIN_LOCKOUT_SECONDS", default=300)
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": f"10/m/ip,5/{FLOWPORT_LOGIN_LOCKOUT_SECONDS}s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "confirm_email": "1/180s/key",
}
# Creating/rotating keys, changing the payment method and deleting the account need a sign-in or a
# re-authentication within this many seconds (apps/console/decorators.py).
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("ACCOUNT_REAUTHENTICATION_TIMEOUT", default=300)
# Two-factor sign-in (allauth.mfa, managed at /accounts/2fa/): TOTP authenticator apps with recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Passkeys: a second factor, and (a key registered as "passwordless", with user verification) a sign-in
# without a password from the log-in page. WebAuthn needs HTTPS; `make run` (http://localhost) allows it.
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
MFA_TOTP_ISSUER = "Flowport"
MFA_RECOVERY_CODE_COUNT = 10
# Sessions are recorded at sign-in (IP, browser); not tracked on every request (a write per page view).
USERSESSIONS_TRACK_ACTIVITY = False
# Staff without two-factor sign-in are sent to set it up before any admin page (on in production).
FLOWPORT_ADMIN_REQUIRE_MFA = env.bool("FLOWPORT_ADMIN_REQUIRE_MFA", default=False)

# A deleted account's records that the law requires (payments, receipts, refunds, ledger, usage, audit,
# the invoice details on receipts) are kept this long, then `accounts.purge_retained` clears the invoice details.
FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS = env.int("FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS", default=3650)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Flowport <billing@flowport.local>")
# E-mail providers through django-anymail: set EMAIL_BACKEND to e.g. anymail.backends.amazon_ses.EmailBackend
# or anymail.backends.postmark.EmailBackend and its credentials in ANYMAIL_* variables (anymail's docs).
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_") and key != "ANYMAIL_SETTINGS"
}
# The name e-mails and the console are branded with; e-mail links are built from SITE_URL.
FLOWPORT_SITE_NAME = env("FLOWPORT_SITE_NAME", default="Flowport")

# Redis: caches (RPM and management API counters) when configured, process memory otherwise.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: without a broker, tasks run eagerly in-process (README: how to run a worker and beat).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "subscriptions-renew-due": {"task": "plans.subscriptions_renew_due", "schedule": 60.0},
    "subscriptions-expire-grace": {"task": "plans.subscriptions_expire_grace", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE["wallet-expire-bonuses"] = {
    "task": "apps.wallet.tasks.wallet_expire_bonuses",
    "schedule": timedelta(hours=1),
}
CELERY_BEAT_SCHEDULE["wallet-auto-topup-retry"] = {
    "task": "apps.wallet.tasks.wallet_auto_topup_retry_stale",
    "schedule": timedelta(minutes=10),
}
CELERY_BEAT_SCHEDULE["usage-release-stale-reservations"] = {
    "task": "usage.release_stale_reservations",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["refunds-sync-processing"] = {
    "task": "apps.refunds.tasks.refunds_sync_processing",
    "schedule": timedelta(minutes=10),
}
CELERY_BEAT_SCHEDULE["accounts-purge-retained"] = {
    "task": "accounts.purge_retained",
    "schedule": timedelta(days=1),
}
CELERY_BEAT_SCHEDULE["notifications-webhook-retries"] = {
    "task": "apps.notifications.tasks.webhook_deliveries_retry_due",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["usage-roll-expired-windows"] = {
    "task": "usage.roll_expired_windows",
    "schedule": timedelta(minutes=1),
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    # JSON objects only, bounded in size and nesting (apps/core/parsers.py): no body can cause a 500.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.BoundedJSONParser"],
}
API_MAX_BODY_BYTES = 64 * 1024
API_MAX_BODY_DEPTH = 8
SPECTACULAR_SETTINGS = {
    "TITLE": "Flowport Management API",
    "DESCRIPTION": _(
        "Read your subscription, Flow rate, pay-as-you-go balance and usage from your own scripts. "
        "Authenticate with a management key: `Authorization: Bearer sk-mg-v1-…`. Each endpoint has its own "
        'per-key limit per minute (422 `rate_limit` beyond it). Success: `{"success": true, "data": {…}}`; '
        'errors: `{"success": false, "error": {"code", "type", "message"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["apps.management_api.schema.management_endpoints_only"],
    # Swagger UI and Redoc are served from the drf-spectacular-sidecar package (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Payments: Stripe when a secret key is configured, the built-in sandbox otherwise.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Optional fixed UUID for the webhook URL /stripe/webhook/<uuid>/ (see `manage.py stripe_setup`).
STRIPE_WEBHOOK_UUID = env("STRIPE_WEBHOOK_UUID", default="")
# The Stripe API version every request and webhook speaks: stripe-python's own pinned version (a test
# asserts stripe-python, dj-stripe and the webhook endpoint agree). Change it only with a stripe upgrade.
STRIPE_API_VERSION = "2026-08-26.dahlia"
STRIPE_REHEARSAL_POLL_SECONDS = 2.0  # `manage.py stripe_rehearsal`: wait between reads of a test clock
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
PAYMENT_PROVIDER = "stripe" if STRIPE_SECRET_KEY else "sandbox"
# Absolute base for links handed to Stripe (Checkout success/cancel URLs).
SITE_URL = env("SITE_URL", default="http://localhost:8000")

# Customer webhooks (SPEC §15): per-attempt timeout, and whether endpoints may be private, loopback or
# link-local addresses (and plain http): local development and tests only, never in production.
FLOWPORT_WEBHOOK_TIMEOUT_SECONDS = 10
FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# The CA certificates webhook receivers' TLS certificates are checked against (default: certifi's bundle).
FLOWPORT_WEBHOOK_CA_BUNDLE = env("FLOWPORT_WEBHOOK_CA_BUNDLE", default="")

# The inference gateway's service token (SPEC §7).
GATEWAY_TOKEN = env("GATEWAY_TOKEN", default="")

# Management API (SPEC §11): requests per minute per key, counted separately for each endpoint.
FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = env.int("FLOWPORT_MANAGEMENT_RATE_PER_MINUTE", default=60)

# `manage.py bootstrap_demo` creates accounts whose passwords the README publishes: only the local
# default (config.settings.local) and the tests turn it on; production refuses.
FLOWPORT_DEMO_ACCOUNTS = False

# Product rules that staff may tune per deployment.
FLOWPORT_DEFAULT_USD_PER_FLOW = Decimal("0.025252525253")
# Metering hot path (apps/usage/services/fastpath.py, PostgreSQL only) and its per-process caches:
# a staff edit of a catalog model, plan or Flow rate reaches every process within this interval.
METERING_FAST_PATH = env.bool("METERING_FAST_PATH", default=True)
METERING_CACHE_CHECK_SECONDS = env.float("METERING_CACHE_CHECK_SECONDS", default=0.5)
# The fast path's reservations (authorize, plain subscription case only) commit without waiting for the
# WAL flush; usage always waits. README "Metering performance" explains what a crash can and cannot lose.
METERING_ASYNC_RESERVATIONS = env.bool("METERING_ASYNC_RESERVATIONS", default=True)
METERING_EARLY_UNLOCK = env.bool("METERING_EARLY_UNLOCK", default=True)
FLOWPORT_MAX_KEYS_PER_KIND = 20
# The inference endpoint customers point their SDKs at (the overview's "get started" snippets).
FLOWPORT_INFERENCE_BASE_URL = env("FLOWPORT_INFERENCE_BASE_URL", default="http://127.0.0.1:4000/v1")
# The CJK-capable font PDF receipts embed (Debian's fonts-wqy-microhei, installed by `make setup` and CI).
FLOWPORT_RECEIPT_FONT = env("FLOWPORT_RECEIPT_FONT", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# An abusive account's Flows are worth at most this fraction of the base rate (its quota burns faster).
FLOWPORT_ABUSIVE_FLOW_MULTIPLIER = Decimal(env("FLOWPORT_ABUSIVE_FLOW_MULTIPLIER", default="0.8"))
# Days before a top-up bonus expires (None: bonuses never expire).
FLOWPORT_BONUS_EXPIRY_DAYS = env.int("FLOWPORT_BONUS_EXPIRY_DAYS", default=None)
# Days a subscription may stay past due (failed renewal) before it drops to Free (SPEC §4).
FLOWPORT_RENEWAL_GRACE_DAYS = env.int("FLOWPORT_RENEWAL_GRACE_DAYS", default=3)

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The handler's level too: Django's own loggers (django.request's 4xx warnings) propagate here with
    # their own levels, and LOG_LEVEL=ERROR must silence them as well.
    "handlers": {"console": {"class": "logging.StreamHandler", "level": LOG_LEVEL}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
# Refunds (SPEC §10): the window after the payment that started the cycle, the fee kept, and how the
# sandbox settles a refund ("succeeded" or "failed"; tests set "failed" to exercise that path).
FLOWPORT_REFUND_WINDOW_HOURS = env.int("FLOWPORT_REFUND_WINDOW_HOURS", default=24)
FLOWPORT_REFUND_FEE_RATE = Decimal(env("FLOWPORT_REFUND_FEE_RATE", default="0.05"))
FLOWPORT_SANDBOX_REFUND_OUTCOME = env("FLOWPORT_SANDBOX_REFUND_OUTCOME", default="succeeded")

# Abuse operations (SPEC §7 `client`, §14). Client IPs sent by the gateway are kept this many days.
FLOWPORT_CLIENT_IP_RETENTION_DAYS = env.int("FLOWPORT_CLIENT_IP_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["usage-clear-client-ips"] = {
    "task": "usage.clear_client_ips",
    "schedule": timedelta(hours=1),
}

# Insider program (SPEC §1): the default flow value multiplier staff grant (must be above 1).
FLOWPORT_INSIDER_FLOW_MULTIPLIER = Decimal(env("FLOWPORT_INSIDER_FLOW_MULTIPLIER", default="1.2"))
# Where restricted customers appeal (shown in the console banner and in notices).
FLOWPORT_SUPPORT_EMAIL = env("FLOWPORT_SUPPORT_EMAIL", default="support@example.com")
# Anomaly signals (apps/abuse): an account over any threshold is raised from healthy to monitored.
FLOWPORT_ABUSE_LOOKBACK_DAYS = 7
FLOWPORT_ABUSE_THRESHOLDS = {
    # most distinct client IPs seen on one key within one hour (a shared or pooled key)
    "ips_per_key_hour": env.int("FLOWPORT_ABUSE_IPS_PER_KEY_HOUR", default=5),
    # share of the last 7 days' 168 hours with at least one request (round-the-clock automation)
    "active_hours_share": Decimal(env("FLOWPORT_ABUSE_ACTIVE_HOURS_SHARE", default="0.85")),
    # 5-hour windows used up (used >= the plan's quota) in the last 7 days (hoarding)
    "windows_exhausted": env.int("FLOWPORT_ABUSE_WINDOWS_EXHAUSTED", default=20),
    # minutes in the last 7 days at or above NEAR_RPM_RATIO of the account's RPM limit
    "near_rpm_minutes": env.int("FLOWPORT_ABUSE_NEAR_RPM_MINUTES", default=120),
    # other accounts seen from this account's client IPs in the last 7 days (multi-account pooling)
    "shared_ip_accounts": env.int("FLOWPORT_ABUSE_SHARED_IP_ACCOUNTS", default=2),
    # requests in the last 24 hours ÷ the daily average of the 7 days before (a jump against the baseline)
    "baseline_jump": Decimal(env("FLOWPORT_ABUSE_BASELINE_JUMP", default="10")),
}
FLOWPORT_ABUSE_NEAR_RPM_RATIO = Decimal(env("FLOWPORT_ABUSE_NEAR_RPM_RATIO", default="0.8"))
# The baseline jump counts only when the last 24 hours have at least this many requests.
FLOWPORT_ABUSE_JUMP_MIN_REQUESTS = env.int("FLOWPORT_ABUSE_JUMP_MIN_REQUESTS", default=100)
CELERY_BEAT_SCHEDULE["abuse-detect-anomalies"] = {
    "task": "abuse.detect_anomalies",
    "schedule": timedelta(minutes=15),
}
