"""Start-up checks: a misconfigured console fails before serving a request."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=False)
def gatehouse_settings_check(app_configs, **kwargs):
    from .crypto import fernet_keys_problem

    errors = []
    production = settings.PRODUCTION
    if production and settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the public development key.",
                hint="Set SECRET_KEY to a long random value.",
                id="gatehouse.E001",
            )
        )
    if production and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        errors.append(
            Error(
                "Production runs on SQLite.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="gatehouse.E002",
            )
        )
    problem = fernet_keys_problem(settings.GATEHOUSE_ENCRYPTION_KEYS)
    if problem:
        errors.append(
            Error(
                f"GATEHOUSE_ENCRYPTION_KEYS: {problem}.",
                hint="A comma-separated list of Fernet keys, newest first "
                '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").',
                id="gatehouse.E003",
            )
        )
    elif production and settings.DEV_ENCRYPTION_KEY in settings.GATEHOUSE_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "GATEHOUSE_ENCRYPTION_KEYS contains the public development key.",
                id="gatehouse.E004",
            )
        )
    if production and settings.DEBUG:
        errors.append(Error("DEBUG is on in production.", id="gatehouse.E005"))
    if production and not settings.ALLOWED_HOSTS:
        errors.append(
            Error("ALLOWED_HOSTS is empty.", hint="Set ALLOWED_HOSTS to the console's host name.", id="gatehouse.E006")
        )
    if production and settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE:
        errors.append(
            Warning(
                "Provider discovery may reach loopback and private addresses.",
                hint="Unset GATEHOUSE_PROVIDER_ALLOW_PRIVATE unless the provider really lives on a private network.",
                id="gatehouse.W001",
            )
        )
    if production and settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK:
        errors.append(
            Warning(
                "Webhook deliveries may reach loopback addresses (this machine's own services).",
                hint="Unset GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK: it is for a receiver in development and tests.",
                id="gatehouse.W020",
            )
        )
    if settings.GATEHOUSE_WEBHOOK_MAX_ATTEMPTS < 1 or settings.GATEHOUSE_WEBHOOK_TIMEOUT <= 0:
        errors.append(
            Error(
                "GATEHOUSE_WEBHOOK_MAX_ATTEMPTS must be at least 1 and GATEHOUSE_WEBHOOK_TIMEOUT above 0.",
                id="gatehouse.E020",
            )
        )
    errors += _broker_problems(production)
    errors += _share_link_problems()
    if production and "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS accepts every host name.",
                hint="List the console's own host names: the Host header builds its links and redirects.",
                id="gatehouse.E009",
            )
        )
    if production and not settings.GATEHOUSE_STAGING_BUCKET:
        # The web process stages a build; the worker, elsewhere, uploads it.
        errors.append(
            Error(
                "GATEHOUSE_STAGING_BUCKET is not set: build uploads would be staged on this machine's disk.",
                hint="Set GATEHOUSE_STAGING_BUCKET to an S3 bucket the web and worker processes can both reach.",
                id="gatehouse.E010",
            )
        )
    if production and not settings.GATEHOUSE_FINGERPRINT_KEY:
        errors.append(
            Warning(
                "Secret fingerprints are keyed on SECRET_KEY: rotating it republishes every site.",
                hint="Set GATEHOUSE_FINGERPRINT_KEY to the current SECRET_KEY value once (.env.example).",
                id="gatehouse.W003",
            )
        )
    return errors


# Transports the console is run with (kombu knows more; these are the ones
# its visibility-timeout and retry settings are written for).
BROKER_SCHEMES = ("redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp", "sqs", "filesystem")


def _broker_problems(production):
    url = settings.CELERY_BROKER_URL or ""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in BROKER_SCHEMES:
        # Only the scheme is named: the rest of the URL may hold a password.
        return [
            Error(
                f"CELERY_BROKER_URL is not a broker URL (scheme {scheme or 'missing'!r}).",
                hint="For example redis://:password@redis:6379/0.",
                id="gatehouse.E008",
            )
        ]
    if production and scheme == "filesystem":
        # Web and worker share nothing but the database, the broker and S3:
        # a folder on one machine's disk is neither visible to the other
        # container nor durable.
        return [
            Error(
                "Production uses the filesystem broker, which only works within one machine.",
                hint="Set CELERY_BROKER_URL to Redis (redis://:password@host:6379/0) or RabbitMQ.",
                id="gatehouse.E007",
            )
        ]
    return []


def _share_link_problems():
    from edge_runtime.config import MAX_SHARE_LINKS

    errors = []
    if not 1 <= settings.GATEHOUSE_SHARE_LINKS_MAX_ACTIVE <= MAX_SHARE_LINKS:
        errors.append(
            Error(
                f"GATEHOUSE_SHARE_LINKS_MAX_ACTIVE must be from 1 to {MAX_SHARE_LINKS} (the edge reads no more).",
                id="gatehouse.E030",
            )
        )
    if settings.GATEHOUSE_SHARE_LINK_MAX_DAYS < 1:
        errors.append(Error("GATEHOUSE_SHARE_LINK_MAX_DAYS must be at least 1.", id="gatehouse.E031"))
    return errors
