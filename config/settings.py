"""Ladder settings: one module, every switch read from the environment.

Defaults give the embedded set-up `make run` uses (SQLite, a filesystem Celery broker, mail
written to a folder). `DATABASE_URL`, `CELERY_BROKER_URL`, `REDIS_URL` and `CACHE_URL` switch to
PostgreSQL and Redis. Every variable is listed in README.md and `.env.example`.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key starts with "django-insecure-", which `check --deploy` reports.
SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="django-insecure-development-only-key-change-me-in-production"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "mptt",
    "django_countries",
    "phonenumber_field",
    "django_htmx",
    "django_celery_beat",
    "django_celery_results",
    "outbox",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "genealogy",
    "orders",
    "commissions",
    "compliance",
    "training",
    "messaging",
    "portal",  # pages composed across apps; the top layer
    "benchmarks",  # reference implementations for the bench commands; nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RefuseNulCharactersMiddleware",  # NUL in input: a 400, never a 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionMFAMiddleware",  # staff powers need a session that passed MFA
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.StaffRequireMFAMiddleware",
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
                "accounts.context_processors.ladder",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file in `make run`: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
CACHES = {
    "default": env.cache(
        "CACHE_URL",
        default=REDIS_URL or f"filecache://{VAR_DIR / 'cache'}",
    ),
    # Where rate limits count while Redis is down (a table created by outbox's migrations).
    "database": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "ladder_cache_fallback",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis down is a cache miss, never a 500; rate limits count in the database meanwhile
    # (core/cache.py). Short socket time-outs: a Redis that hangs is a Redis that is down.
    CACHES["default"]["BACKEND"] = "core.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "FALLBACK": "database",
            "FALLBACK_KEY_PREFIXES": ["allauth:rl:"],
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
        }
    )

# --- Auth and accounts (django-allauth) -----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [  # Django's and allauth's, reading the distributor with the user
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_FORMS = {
    "signup": "genealogy.forms.EnrollmentSignupForm",
    # The same answer whether or not an address has an account; mail only to a real one.
    "reset_password": "accounts.forms.PasswordResetForm",
}
# A duplicate email at sign-up gets a clear message (the enrollment issue asks for it); the
# sign-up rate limit below keeps address probing slow.
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_CHANGE_EMAIL = True
# allauth's defaults for login failures, sign-ups, resets; they need a real shared cache.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("LADDER_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env("LADDER_RATE_LIMIT_SIGNUP", default="20/m/ip"),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("LADDER_COMPANY_NAME", default="Ladder Demo Company")

# --- Internationalisation and the company -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("LADDER_TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

LADDER_COMPANY_NAME = MFA_TOTP_ISSUER
LADDER_CURRENCY = env("LADDER_CURRENCY", default="USD")
# Referral code of the sponsor for people who sign up without one; empty: a code is required.
LADDER_DEFAULT_SPONSOR_CODE = env("LADDER_DEFAULT_SPONSOR_CODE", default="")
# Version of the policies a person accepts at sign-up (stored with their enrollment).
LADDER_POLICIES_VERSION = env("LADDER_POLICIES_VERSION", default="2026-01")
# Minutes a placed-tree check tolerates a distributor waiting for placement.
LADDER_PLACEMENT_MAX_PENDING_MINUTES = env.int("LADDER_PLACEMENT_MAX_PENDING_MINUTES", default=5)

# --- Static files and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Ladder <no-reply@ladder.localhost>")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in (_broker_dir, VAR_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery-control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Publishing gives up within about a second when Redis is down: the task waits in the
    # outbox (outbox/services.py) instead of holding the request.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
        "socket_connect_timeout": 1,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # worker logs go through LOGGING (JSON lines)

# --- Security (production values when DEBUG is off) --------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database only: a logout or key rotation made while Redis is down
# would leave the old session valid in a cached copy once Redis returns (one indexed read).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
X_FRAME_OPTIONS = "DENY"

# --- Logging: one JSON object per line on stdout ------------------------------------------------
LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Orders -------------------------------------------------------------------------------------
# Largest quantity of one product on one order line (larger is refused as a typing mistake).
LADDER_MAX_QUANTITY_PER_LINE = env.int("LADDER_MAX_QUANTITY_PER_LINE", default=100)
# Payment provider behind the distributor's "Pay now" button ("test" pays at once: demo only);
# empty hides the button and staff record payments in the admin (manual provider).
LADDER_ONLINE_PAYMENT_PROVIDER = env(
    "LADDER_ONLINE_PAYMENT_PROVIDER", default="test" if DEBUG else ""
)
# Buy-back on termination: percent of the price refunded, for product bought within N months.
LADDER_BUY_BACK_PERCENT = env.int("LADDER_BUY_BACK_PERCENT", default=90)
LADDER_BUY_BACK_MONTHS = env.int("LADDER_BUY_BACK_MONTHS", default=12)
# load_catalog refuses a product whose PV or CV exceeds this many points per unit of its
# wholesale price (a typing mistake, or volume paid out of proportion to the sale), unless run
# with --allow-volume-above-price. Text, read as a Decimal.
LADDER_CATALOG_MAX_VOLUME_PER_PRICE = env("LADDER_CATALOG_MAX_VOLUME_PER_PRICE", default="1.00")

# --- Commissions --------------------------------------------------------------------------------
# Hour (company time zone) on the 1st of each month when beat calculates the month that ended
# (read by the data migration that creates the schedule; editable afterwards in the admin).
LADDER_COMMISSIONS_RUN_HOUR = env.int("LADDER_COMMISSIONS_RUN_HOUR", default=2)
# A month can be closed only this many hours after it ended (company wall clock), so payments
# recorded late for it still count in it; calculating (a preview) is allowed at any time.
LADDER_CLOSE_GRACE_HOURS = env.int("LADDER_CLOSE_GRACE_HOURS", default=72)
if LADDER_CLOSE_GRACE_HOURS < 0:
    raise ImproperlyConfigured("LADDER_CLOSE_GRACE_HOURS cannot be negative")
# The plan `seed_demo` (and so `make run`) loads into an empty company: "unilevel"
# (plans/demo.yaml), "hybrid" (binary + unilevel, plans/hybrid.yaml) or "weekly" (the hybrid
# with binary and fast start paid every week, plans/weekly.yaml).
LADDER_DEMO_PLAN = env("LADDER_DEMO_PLAN", default="unilevel").strip().lower()
if LADDER_DEMO_PLAN not in ("unilevel", "hybrid", "weekly"):
    raise ImproperlyConfigured(
        f"LADDER_DEMO_PLAN is {LADDER_DEMO_PLAN!r}: it must be 'unilevel', 'hybrid' or 'weekly'."
    )
# Adjustments above this amount (absolute, company currency) need a second staff member's approval.
LADDER_ADJUSTMENT_APPROVAL_THRESHOLD = env("LADDER_ADJUSTMENT_APPROVAL_THRESHOLD", default="500.00")
# Payout methods the company offers (each distributor chooses one on their profile page), and
# the method of people who have not chosen, which must be one of them. "check" needs no account
# (mailed to the person); "paypal" pays an email address.
LADDER_PAYOUT_METHODS = list(
    dict.fromkeys(
        method.strip()
        for method in env.list(
            "LADDER_PAYOUT_METHODS", default=["bank_transfer", "paypal", "check"]
        )
        if method.strip()
    )
)
LADDER_PAYOUT_METHOD = env("LADDER_PAYOUT_METHOD", default="bank_transfer").strip()
if not LADDER_PAYOUT_METHODS or any(len(method) > 32 for method in LADDER_PAYOUT_METHODS):
    raise ImproperlyConfigured(
        "LADDER_PAYOUT_METHODS must list at least one payout method (comma-separated, each at "
        f"most 32 characters); it is {env('LADDER_PAYOUT_METHODS', default='')!r}."
    )
if LADDER_PAYOUT_METHOD not in LADDER_PAYOUT_METHODS:
    raise ImproperlyConfigured(
        f"LADDER_PAYOUT_METHOD is {LADDER_PAYOUT_METHOD!r}, which is not one of the offered "
        f"LADDER_PAYOUT_METHODS ({', '.join(LADDER_PAYOUT_METHODS)}): set it to one of them or "
        "add it to the list."
    )
# Testing only: seconds a commission run sleeps between writing its results and making them
# current (lets a test kill the worker at that moment). Leave 0 in production.
LADDER_COMMISSIONS_PAUSE_BEFORE_SWAP = env.float("LADDER_COMMISSIONS_PAUSE_BEFORE_SWAP", default=0)

# --- Compliance (flags reviewed by staff; see compliance/services.py) -------------------------
# (a) Flag when personal-use PV exceeds this percent of a distributor's PV in a period (the
# "70 % rule" family), or when they served fewer distinct retail customers than this.
LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT = env(
    "LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT", default="70"
)
LADDER_COMPLIANCE_MIN_RETAIL_CUSTOMERS = env.int(
    "LADDER_COMPLIANCE_MIN_RETAIL_CUSTOMERS", default=1
)
# ... checked for people who earned at least this much in the period (its calculation, else its
# projection): the concern is commissions paid on internal consumption, not a customer who
# joined for the discount. "0" checks everyone with volume.
LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS = env(
    "LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS", default="0.01"
)
# (b) Inventory loading: personal-use purchases in a month above this amount (company currency),
# or above FACTOR x the person's own average over the previous MONTHS months.
LADDER_COMPLIANCE_LOADING_MAX_MONTHLY = env(
    "LADDER_COMPLIANCE_LOADING_MAX_MONTHLY", default="1000.00"
)
LADDER_COMPLIANCE_LOADING_SPIKE_FACTOR = env("LADDER_COMPLIANCE_LOADING_SPIKE_FACTOR", default="3")
LADDER_COMPLIANCE_LOADING_HISTORY_MONTHS = env.int(
    "LADDER_COMPLIANCE_LOADING_HISTORY_MONTHS", default=6
)
# (c) Recruiting without selling: at least this many personal enrollees (joined in the period,
# or active now) while retail PV in the period stays below the second value.
LADDER_COMPLIANCE_RECRUITING_MIN_ENROLLEES = env.int(
    "LADDER_COMPLIANCE_RECRUITING_MIN_ENROLLEES", default=5
)
LADDER_COMPLIANCE_RECRUITING_MIN_RETAIL_PV = env(
    "LADDER_COMPLIANCE_RECRUITING_MIN_RETAIL_PV", default="100"
)
# Hour (company time zone) when beat recomputes the flags of the open and the last month, daily
# (read by the data migration that creates the schedule; editable afterwards in the admin).
LADDER_COMPLIANCE_FLAGS_HOUR = env.int("LADDER_COMPLIANCE_FLAGS_HOUR", default=3)

# --- Training and team communication -------------------------------------------------------
# Block a distributor's first retail sale until the required compliance training is done.
LADDER_REQUIRE_COMPLIANCE_TRAINING_FOR_RETAIL = env.bool(
    "LADDER_REQUIRE_COMPLIANCE_TRAINING_FOR_RETAIL", default=True
)
LADDER_TRAINING_PDF_MAX_MB = env.int("LADDER_TRAINING_PDF_MAX_MB", default=20)
# Days after joining during which the first-steps card and the new-recruits list apply.
LADDER_ONBOARDING_DAYS = env.int("LADDER_ONBOARDING_DAYS", default=30)
# Team messages a distributor may send in 24 hours, and emails per Celery batch.
LADDER_MESSAGING_MAX_PER_DAY = env.int("LADDER_MESSAGING_MAX_PER_DAY", default=5)
LADDER_MESSAGING_EMAIL_BATCH_SIZE = env.int("LADDER_MESSAGING_EMAIL_BATCH_SIZE", default=500)
# The longest team message body, in characters (a clear error beyond it).
LADDER_MESSAGING_MAX_BODY_CHARS = env.int("LADDER_MESSAGING_MAX_BODY_CHARS", default=10000)
# Phone numbers are kept in E.164; a number typed without its +country code is read in the
# person's country, or in this region (ISO 3166 alpha-2) when no country is known.
LADDER_PHONE_REGION = env("LADDER_PHONE_REGION", default="US").strip().upper()
PHONENUMBER_DEFAULT_REGION = LADDER_PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"
# Start of the absolute links in emails (messages, unsubscribe); set it in production.
LADDER_SITE_URL = env("LADDER_SITE_URL", default="http://127.0.0.1:8000")

# --- Task outbox (outbox/): tasks are written with their data, then published -----------------
# Seconds between relay passes in the worker and beat processes (0: no relay thread there).
LADDER_OUTBOX_RELAY_SECONDS = env.float("LADDER_OUTBOX_RELAY_SECONDS", default=2.0)
# Days sent outbox rows are kept (for the admin) before beat deletes them.
LADDER_OUTBOX_KEEP_DAYS = env.int("LADDER_OUTBOX_KEEP_DAYS", default=7)
