"""Gatehouse console settings.

Everything is read from the environment or a `.env` file (see `.env.example`).
Development needs nothing: SQLite and the Celery broker live under `var/`,
AWS is moto's server on loopback. Production (`GATEHOUSE_ENV=production`, or
`DEBUG=False`) has no defaults for secrets and refuses to start without them.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# GATEHOUSE_ENV_FILE lets tests and operators point at another file (or none);
# values already in the environment always win over the file.
_env_file = Path(env.str("GATEHOUSE_ENV_FILE", default=str(BASE_DIR / ".env")))
if _env_file.is_file():
    env.read_env(_env_file)

# Local state (SQLite, the filesystem broker, staged uploads). Tests point it
# elsewhere so a test worker never picks up a development message.
VAR_DIR = Path(env.str("GATEHOUSE_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

GATEHOUSE_ENV = env.str("GATEHOUSE_ENV", default="development")
DEBUG = env.bool("DEBUG", default=GATEHOUSE_ENV != "production")
PRODUCTION = GATEHOUSE_ENV == "production" or not DEBUG

if PRODUCTION:
    _missing = [
        name
        for name in ("SECRET_KEY", "DATABASE_URL", "GATEHOUSE_ENCRYPTION_KEYS")
        if not env.str(name, default="").strip()
    ]
    if _missing:
        raise ImproperlyConfigured(
            "Production settings need these environment variables: " + ", ".join(_missing)
        )
else:
    # The serverless broker and SQLite need their folders before anything runs.
    for _folder in ("celery/queue", "celery/processed", "celery/control", "media"):
        (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)

# Development-only values: public knowledge, never accepted in production
# (PRODUCTION above refuses to start without real ones).
DEV_SECRET_KEY = "dev-only-insecure-gatehouse-secret-key-do-not-use-in-production"
DEV_ENCRYPTION_KEY = "iZah-xsEB-57LDGlL-sSm9Bytnx8p8s7m5u0OnUqhyA="

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
# Rotating SECRET_KEY: put the old value here so sessions and signed values
# made under it stay valid until they expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sites.apps.SitesConfig",
    # Failed-login throttling for the password sign-in (AXES_* below).
    "axes",
    # The REST API (sites/api/) and its OpenAPI schema.
    "rest_framework",
    "drf_spectacular",
]

MIDDLEWARE = [
    # First: every later line of the request's logs carries its id.
    "console.middleware.RequestIdMiddleware",
    # Before SecurityMiddleware and CommonMiddleware: a container probe on
    # http://127.0.0.1:8000 is neither redirected to https nor refused for
    # its Host header (console/health.py).
    "console.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

if PRODUCTION:
    # gunicorn serves the collected static files itself; runserver does in development.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

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
                # role, role_name, role_summary, perms_can: what the signed-in staff member may do.
                "sites.roles.context_processor",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write at the same time: IMMEDIATE takes
    # the write lock at BEGIN, so a transaction never fails half-way with
    # "database is locked" when it upgrades from read to write, and WAL lets
    # readers carry on meanwhile.
    # A file, not memory, for the test database: the real Celery worker in
    # the end-to-end tests opens it from another process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic puts the files gunicorn serves (whitenoise) in production.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# The console's own stylesheet and script: no build step, no CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploads go to a temporary file as they arrive, never into memory whatever
# their size; the form checks the zip from that file and streams it to the
# staging storage (sites/forms/staged_builds.py).
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Staff sign-in -------------------------------------------------------------
# Console sessions end this long after sign-in, and when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)

# Staff single sign-on with the company's OpenID Connect provider
# (mozilla-django-oidc; sites/staff_auth.py). On when a client id and either
# the issuer (its discovery document gives the endpoints) or the endpoints are set.
GATEHOUSE_STAFF_OIDC_ISSUER = env.str("GATEHOUSE_STAFF_OIDC_ISSUER", default="").rstrip("/")
GATEHOUSE_STAFF_OIDC_AUTHORIZATION_ENDPOINT = env.str("GATEHOUSE_STAFF_OIDC_AUTHORIZATION_ENDPOINT", default="")
GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT = env.str("GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT", default="")
GATEHOUSE_STAFF_OIDC_USERINFO_ENDPOINT = env.str("GATEHOUSE_STAFF_OIDC_USERINFO_ENDPOINT", default="")
GATEHOUSE_STAFF_OIDC_JWKS_URI = env.str("GATEHOUSE_STAFF_OIDC_JWKS_URI", default="")
GATEHOUSE_STAFF_OIDC_CLIENT_ID = env.str("GATEHOUSE_STAFF_OIDC_CLIENT_ID", default="")
GATEHOUSE_STAFF_OIDC_CLIENT_SECRET = env.str("GATEHOUSE_STAFF_OIDC_CLIENT_SECRET", default="")
GATEHOUSE_STAFF_OIDC_SIGN_ALGO = env.str("GATEHOUSE_STAFF_OIDC_SIGN_ALGO", default="RS256")
GATEHOUSE_STAFF_OIDC_SCOPES = env.str("GATEHOUSE_STAFF_OIDC_SCOPES", default="openid email profile")
# The button reads "Sign in with <this>".
GATEHOUSE_STAFF_OIDC_NAME = env.str("GATEHOUSE_STAFF_OIDC_NAME", default="your company account")
# Which claim carries the groups, and which group gives which role
# (viewer, operator, admin); the highest wins. The provider decides: each
# sign-in sets the role from the claim, so leaving the group removes the role.
GATEHOUSE_STAFF_OIDC_ROLE_CLAIM = env.str("GATEHOUSE_STAFF_OIDC_ROLE_CLAIM", default="groups")
GATEHOUSE_STAFF_OIDC_ROLE_MAP = env.dict("GATEHOUSE_STAFF_OIDC_ROLE_MAP", default={})
# People whose verified e-mail is in one of these domains (exactly, no
# subdomains) get a staff account with no role (an admin then gives one).
# Anyone else whose groups map to no role is refused.
GATEHOUSE_STAFF_OIDC_EMAIL_DOMAINS = [d.lower() for d in env.list("GATEHOUSE_STAFF_OIDC_EMAIL_DOMAINS", default=[])]
GATEHOUSE_STAFF_OIDC_ENABLED = bool(
    GATEHOUSE_STAFF_OIDC_CLIENT_ID
    and (GATEHOUSE_STAFF_OIDC_ISSUER or (GATEHOUSE_STAFF_OIDC_AUTHORIZATION_ENDPOINT and GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT))
)
if set(GATEHOUSE_STAFF_OIDC_ROLE_MAP.values()) - {"viewer", "operator", "admin"}:
    raise ImproperlyConfigured("GATEHOUSE_STAFF_OIDC_ROLE_MAP: each group maps to viewer, operator or admin.")

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Always listed, inert unless GATEHOUSE_STAFF_OIDC_ENABLED: it answers
    # only the callback of a sign-in the console started.
    "sites.staff_auth.StaffOIDCBackend",
]

# django-axes: this many failed passwords for one username from one address
# lock that pair out for the cool-off time; a right password meanwhile is
# refused too. Single sign-on attempts are not counted (sites/staff_auth.py).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_WHITELIST_CALLABLE = "sites.staff_auth.axes_ignores_sso"
# sites/admin.py registers axes' records itself, for the Admin role (unlocking is deleting the attempt).
AXES_ENABLE_ADMIN = False
# The address is REMOTE_ADDR: behind the TLS proxy that is the proxy's, so
# the lock is then per username (X-Forwarded-For is not trusted for it).

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# JSON in production (one object per line, with the request id, for a log
# pipeline); plain lines in development, for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "console.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "console.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # botocore logs request bodies at DEBUG: a config body carries secrets.
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # gunicorn's own loggers: the same handler, so its lines are JSON too.
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Errors to Sentry, only when a DSN is set (console/sentry.py): no personal
# data, and secrets scrubbed from what is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=GATEHOUSE_ENV)
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from console.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# --- Celery (read by console/celery.py with the CELERY_ namespace) ---------
# An unfinished deployment whose run stopped renewing it this long lost its
# worker: its lease lapses and the beat sweep resumes it. Longer than
# deployment_run_task's hard time limit. Read here for the broker too.
GATEHOUSE_DEPLOYMENT_LEASE_SECONDS = env.int("GATEHOUSE_DEPLOYMENT_LEASE_SECONDS", default=1800)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder for both directions: producer and consumer share the queue.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Broadcasts (celery inspect, pidbox) default to ./control otherwise.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # Redis redelivers an unacknowledged message after this. Aligned with the
    # deployment lease: a message is redelivered only once the run that held
    # it has lost its lease too, so the redelivery and the sweep's resume meet
    # at the same conditional UPDATE and one of them runs. It also outlasts
    # every countdown a task re-enqueues itself with.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": GATEHOUSE_DEPLOYMENT_LEASE_SECONDS + 60}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The worker logs through LOGGING above (JSON, request ids), not its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Gatehouse ----------------------------------------------------------------
# Fernet keys, newest first: the first encrypts, all decrypt. Rotate by
# prepending a new key, running `manage.py rotate_encryption_key`, then
# dropping the old one.
GATEHOUSE_ENCRYPTION_KEYS = env.list("GATEHOUSE_ENCRYPTION_KEYS", default=[DEV_ENCRYPTION_KEY])
# The key of the secret fingerprints stored in revisions. Its own setting, so
# rotating SECRET_KEY changes no fingerprint: otherwise every site's next
# render differs from its last revision (a republish of every site) and an
# upload still pending no longer finds its secrets. Unset, fingerprints are
# keyed on SECRET_KEY (as before this setting existed): set it to the current
# SECRET_KEY before rotating that. Rotating this one: move the old value to
# the fallbacks, which are still accepted when a pending upload is injected.
GATEHOUSE_FINGERPRINT_KEY = env.str("GATEHOUSE_FINGERPRINT_KEY", default="")
GATEHOUSE_FINGERPRINT_KEY_FALLBACKS = env.list("GATEHOUSE_FINGERPRINT_KEY_FALLBACKS", default=[])

# AWS: everything the console needs to know about its account in one place.
# In development the endpoint is moto's server; in production leave it unset.
GATEHOUSE_AWS_ENDPOINT_URL = env.str(
    "GATEHOUSE_AWS_ENDPOINT_URL", default=None if PRODUCTION else "http://127.0.0.1:5000"
)
GATEHOUSE_AWS_REGION = env.str("GATEHOUSE_AWS_REGION", default="us-east-1")
# Lambda@Edge functions live in us-east-1, whatever the console's region.
GATEHOUSE_EDGE_REGION = "us-east-1"
GATEHOUSE_CONFIG_BUCKET = env.str("GATEHOUSE_CONFIG_BUCKET", default="gatehouse-config")
GATEHOUSE_CONFIG_PREFIX = env.str("GATEHOUSE_CONFIG_PREFIX", default="sites/")
GATEHOUSE_CONFIG_KMS_KEY_ALIAS = env.str("GATEHOUSE_CONFIG_KMS_KEY_ALIAS", default="alias/gatehouse-config")
GATEHOUSE_SITE_BUCKET_PREFIX = env.str("GATEHOUSE_SITE_BUCKET_PREFIX", default="gatehouse-site-")
GATEHOUSE_EDGE_FUNCTION_NAME = env.str("GATEHOUSE_EDGE_FUNCTION_NAME", default="gatehouse-edge")
GATEHOUSE_EDGE_ROLE_NAME = env.str("GATEHOUSE_EDGE_ROLE_NAME", default="gatehouse-edge")
GATEHOUSE_OAC_NAME = env.str("GATEHOUSE_OAC_NAME", default="gatehouse-oac")
# Sites whose distributions share one origin access control before the next
# (GATEHOUSE_OAC_NAME-2, -3, ...) is made: CloudFront's default quota is 100.
GATEHOUSE_SITES_PER_OAC = env.int("GATEHOUSE_SITES_PER_OAC", default=100)

# SES: the region every e-mail goes through (the edge's sign-in codes and
# the console's invitations and reminders). Sign-in with an e-mail code: the
# edge sends the codes from GATEHOUSE_SES_SENDER (a verified SES identity; the
# edge role may send from it and nothing else). The code's lifetime and the
# send limits go into every such site's config (edge_runtime/config.py bounds
# them).
GATEHOUSE_SES_SENDER = env.str("GATEHOUSE_SES_SENDER", default="" if PRODUCTION else "sign-in@gatehouse.localhost")
GATEHOUSE_SES_REGION = env.str("GATEHOUSE_SES_REGION", default=GATEHOUSE_AWS_REGION)
GATEHOUSE_EMAIL_CODE_LIFETIME = env.int("GATEHOUSE_EMAIL_CODE_LIFETIME", default=600)
GATEHOUSE_EMAIL_CODE_SENDS_PER_TRANSACTION = env.int("GATEHOUSE_EMAIL_CODE_SENDS_PER_TRANSACTION", default=3)
GATEHOUSE_EMAIL_CODE_SENDS_PER_ADDRESS = env.int("GATEHOUSE_EMAIL_CODE_SENDS_PER_ADDRESS", default=5)

# Where viewers reach a site. Production: https on the default port. In
# development the edge gateway serves every *.localhost site on one port.
GATEHOUSE_EDGE_PUBLIC_SCHEME = env.str("GATEHOUSE_EDGE_PUBLIC_SCHEME", default="https" if PRODUCTION else "http")
GATEHOUSE_EDGE_PUBLIC_PORT = env.int("GATEHOUSE_EDGE_PUBLIC_PORT", default=None if PRODUCTION else 8080)

# Provider discovery: loopback and private addresses only where the provider
# can legitimately live there (the local OpenID Connect provider).
GATEHOUSE_PROVIDER_ALLOW_PRIVATE = env.bool("GATEHOUSE_PROVIDER_ALLOW_PRIVATE", default=not PRODUCTION)
GATEHOUSE_PROVIDER_FETCH_TIMEOUT = env.float("GATEHOUSE_PROVIDER_FETCH_TIMEOUT", default=5.0)
GATEHOUSE_PROVIDER_FETCH_MAX_BYTES = 512 * 1024
GATEHOUSE_PROVIDER_KEYS_REFRESH_SECONDS = env.int("GATEHOUSE_PROVIDER_KEYS_REFRESH_SECONDS", default=3600)

# Webhooks (sites/services/webhooks.py). Deliveries go to public addresses
# only, through the same guard as provider discovery; loopback (a receiver on
# this machine) only when this is set, in development and tests, never by
# default. Each attempt has this many seconds in all; a failed one is retried
# with a backoff doubling from the first wait up to the longest, this many
# attempts in all (the first included).
GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = env.bool("GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK", default=False)
GATEHOUSE_WEBHOOK_TIMEOUT = env.float("GATEHOUSE_WEBHOOK_TIMEOUT", default=5.0)
GATEHOUSE_WEBHOOK_MAX_ATTEMPTS = env.int("GATEHOUSE_WEBHOOK_MAX_ATTEMPTS", default=8)
GATEHOUSE_WEBHOOK_RETRY_BACKOFF = env.int("GATEHOUSE_WEBHOOK_RETRY_BACKOFF", default=30)
GATEHOUSE_WEBHOOK_RETRY_BACKOFF_MAX = env.int("GATEHOUSE_WEBHOOK_RETRY_BACKOFF_MAX", default=3600)
# Finished deliveries (and their attempts) are kept this many days in the log.
GATEHOUSE_WEBHOOK_LOG_DAYS = env.int("GATEHOUSE_WEBHOOK_LOG_DAYS", default=30)

# A revision still pending this long is re-enqueued by the beat sweep; an
# "uploading" claim older than the lease is taken to be from a dead worker.
GATEHOUSE_UPLOAD_SWEEP_SECONDS = env.int("GATEHOUSE_UPLOAD_SWEEP_SECONDS", default=60)
GATEHOUSE_UPLOAD_LEASE_SECONDS = env.int("GATEHOUSE_UPLOAD_LEASE_SECONDS", default=600)
# A site's newest revision whose upload failed for good is tried again by the
# sweep, the wait doubling from the sweep interval up to this, this many times
# (then `manage.py retry_failed_revisions`, or saving the site again).
GATEHOUSE_UPLOAD_RETRY_MAX_SECONDS = env.int("GATEHOUSE_UPLOAD_RETRY_MAX_SECONDS", default=3600)
GATEHOUSE_UPLOAD_RETRY_MAX_ATTEMPTS = env.int("GATEHOUSE_UPLOAD_RETRY_MAX_ATTEMPTS", default=10)

# AWS call behaviour and provisioning pace (read by sites/aws.py and
# sites/services/provisioning.py).
# The console's role, added to the config key's policy (merged, never
# replacing what is there). Unset, only a key the console creates names the
# caller. GATEHOUSE_CONSOLE_ID tags that key (default: the config bucket), so
# another environment's key in the same account is never adopted.
GATEHOUSE_CONSOLE_PRINCIPAL_ARN = env.str("GATEHOUSE_CONSOLE_PRINCIPAL_ARN", default="")
GATEHOUSE_CONSOLE_ID = env.str("GATEHOUSE_CONSOLE_ID", default="")
GATEHOUSE_AWS_CONNECT_TIMEOUT = env.float("GATEHOUSE_AWS_CONNECT_TIMEOUT", default=5.0)
GATEHOUSE_AWS_READ_TIMEOUT = env.float("GATEHOUSE_AWS_READ_TIMEOUT", default=30.0)
GATEHOUSE_AWS_MAX_ATTEMPTS = env.int("GATEHOUSE_AWS_MAX_ATTEMPTS", default=4)
GATEHOUSE_EDGE_RUNTIME = env.str("GATEHOUSE_EDGE_RUNTIME", default="python3.12")
# The edge zip carries byte-code for that runtime, compiled by a CPython of
# the same version: this one, else python3.12 on the PATH or under pyenv
# (edge_runtime/build.py). Without one it is sources only, with a warning.
GATEHOUSE_EDGE_BUILD_PYTHON = env.str("GATEHOUSE_EDGE_BUILD_PYTHON", default="")
# CloudFront takes minutes to deploy; the local AWS answers at once.
GATEHOUSE_PROVISION_POLL_SECONDS = env.int("GATEHOUSE_PROVISION_POLL_SECONDS", default=30 if PRODUCTION else 3)
GATEHOUSE_PROVISION_DEADLINE_SECONDS = env.int("GATEHOUSE_PROVISION_DEADLINE_SECONDS", default=3 * 3600)
# Sites placed on one edge function before the next is used; unset, Lambda@Edge's
# own limit (sites/aws/lambda_.py MAX_ASSOCIATIONS_PER_FUNCTION).
GATEHOUSE_EDGE_SITES_PER_FUNCTION = env.int("GATEHOUSE_EDGE_SITES_PER_FUNCTION", default=None)
# An edge release rolled out to every site: sites moved per task, and sites
# whose CloudFront status one rollouts_sweep run checks (provisioning/rollout.py).
GATEHOUSE_ROLLOUT_BATCH_SIZE = env.int("GATEHOUSE_ROLLOUT_BATCH_SIZE", default=100)
GATEHOUSE_ROLLOUT_CHECK_BATCH_SIZE = env.int("GATEHOUSE_ROLLOUT_CHECK_BATCH_SIZE", default=500)
GATEHOUSE_ROLLOUT_CONCURRENCY = env.int("GATEHOUSE_ROLLOUT_CONCURRENCY", default=8)
# CloudWatch Logs retention of the edge function's log groups, set in each
# region Lambda@Edge writes to (sites/services/edge_logs.py; empty list: the
# regions in sites/aws.py EDGE_LOG_REGIONS).
GATEHOUSE_EDGE_LOG_RETENTION_DAYS = env.int("GATEHOUSE_EDGE_LOG_RETENTION_DAYS", default=30)
GATEHOUSE_EDGE_LOG_REGIONS = env.list("GATEHOUSE_EDGE_LOG_REGIONS", default=[])
# The S3 bucket a build zip is staged in between the page that took it and
# the worker that uploads it (sites/staging.py; objects under staged-builds/).
# Required in production (system check gatehouse.E010): the web and worker
# processes share no disk. Empty in development: MEDIA_ROOT on the local disk.
# /readyz checks it when set.
GATEHOUSE_STAGING_BUCKET = env.str("GATEHOUSE_STAGING_BUCKET", default="")
# A staged zip that no pending build needs is purged this long after it was
# staged (beat, hourly; `manage.py purge_staged_uploads`); a failed form's
# reference to its staged zip expires at the same age.
GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS = env.int("GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS", default=24 * 3600)
# The largest build a zip may unpack to (sites/archives.py).
GATEHOUSE_BUILD_MAX_FILES = env.int("GATEHOUSE_BUILD_MAX_FILES", default=5000)
GATEHOUSE_BUILD_MAX_BYTES = env.int("GATEHOUSE_BUILD_MAX_BYTES", default=200 * 1024 * 1024)

# --- Viewers: visits, invitations, access reminders (sites/services/visits.py,
# invitations.py, reminders.py) ------------------------------------------------
# The consultancy's name, in every e-mail the console sends to clients and staff.
GATEHOUSE_CONSULTANCY_NAME = env.str("GATEHOUSE_CONSULTANCY_NAME", default="Gatehouse")
# The sender of the console's own e-mails (invitations, reminders): a
# verified SES identity. They go through SES in GATEHOUSE_SES_REGION (above).
GATEHOUSE_EMAIL_FROM = env.str("GATEHOUSE_EMAIL_FROM", default="" if PRODUCTION else "demos@gatehouse.localhost")
# The console's own address, for links in e-mails to staff ("extend access").
GATEHOUSE_CONSOLE_URL = env.str("GATEHOUSE_CONSOLE_URL", default="" if PRODUCTION else "http://localhost:8000")
# How often beat collects the edge's visit lines from CloudWatch Logs, and how
# long visits are kept before the daily purge deletes them.
GATEHOUSE_VISITS_COLLECT_SECONDS = env.int("GATEHOUSE_VISITS_COLLECT_SECONDS", default=300)
GATEHOUSE_VISITS_RETENTION_DAYS = env.int("GATEHOUSE_VISITS_RETENTION_DAYS", default=180)
# Staff are e-mailed this many days before a site's access ends (once per end
# date): the site's creator and these addresses.
GATEHOUSE_ACCESS_REMINDER_DAYS = env.int("GATEHOUSE_ACCESS_REMINDER_DAYS", default=3)
GATEHOUSE_ACCESS_REMINDER_TO = env.list("GATEHOUSE_ACCESS_REMINDER_TO", default=[])
# Share links (docs/share-links.md): the longest expiry staff may give a link,
# and how many unrevoked, unexpired links a site may have at once (each is a
# line of its published config; the edge reads at most
# edge_runtime.config.MAX_SHARE_LINKS).
GATEHOUSE_SHARE_LINK_MAX_DAYS = env.int("GATEHOUSE_SHARE_LINK_MAX_DAYS", default=90)
GATEHOUSE_SHARE_LINKS_MAX_ACTIVE = env.int("GATEHOUSE_SHARE_LINKS_MAX_ACTIVE", default=20)

# Manifest deploys (sites/api/, docs/api.md): a file up to this size is sent
# through the API; a larger one by a presigned PUT straight to S3, so its
# bytes never pass through the web process.
GATEHOUSE_API_INLINE_MAX_BYTES = env.int("GATEHOUSE_API_INLINE_MAX_BYTES", default=1024 * 1024)
# How long a presigned upload address stays valid.
GATEHOUSE_API_PRESIGN_SECONDS = env.int("GATEHOUSE_API_PRESIGN_SECONDS", default=3600)
# Requests one API token may make ("<n>/sec|min|hour|day"), counted in Django's
# cache (per web process with the default local-memory cache); over it, 429
# with Retry-After. Empty: no limit.
GATEHOUSE_API_RATE = env.str("GATEHOUSE_API_RATE", default="600/min")

# The REST API: personal tokens only (no session, so no CSRF question), JSON
# in and out, errors through one handler (sites/api/errors.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sites.api.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["sites.api.permissions.RolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["sites.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sites.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "sites.api.pagination.Pages",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Sites, builds, deployments and edge releases; see docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # What each URL converter matches (a slug outside this pattern, or a negative number, is no address: 404).
    "PATH_CONVERTER_OVERRIDES": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "int": {"type": "integer", "minimum": 0},
        "str": {"type": "string", "pattern": "^[^/]+$"},
    },
    # The error answers every operation can give (sites/api/schema.py), after the enums' own hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sites.api.schema.error_responses_document",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SiteStatusEnum": "sites.models.ProtectedSite.Status",
        "BuildStatusEnum": "sites.models.Build.Status",
        "DeploymentStatusEnum": "sites.models.Deployment.Status",
        "StepStatusEnum": "sites.models.DeploymentStep.Status",
        "EdgeReleaseStatusEnum": "sites.models.EdgeRelease.Status",
    },
}
