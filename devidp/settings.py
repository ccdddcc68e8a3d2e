"""Settings of devidp, the development OpenID Connect provider.

Separate from the console's settings on purpose: nothing here is shared with
``console.settings`` and nothing there should ever name devidp. ``python -m
devidp`` fills the ``DEVIDP_*`` environment variables before Django starts.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from devidp.bootstrap import DEFAULT_DATA_DIR

DATA_DIR = Path(os.environ.get("DEVIDP_DATA_DIR") or DEFAULT_DATA_DIR)
ISSUER = os.environ.get("DEVIDP_ISSUER", "http://localhost:9000/o")
ISSUER_HOST = os.environ.get("DEVIDP_ISSUER_HOST", "localhost")
CLAIMS_IN_USERINFO_ONLY = os.environ.get("DEVIDP_CLAIMS_IN_USERINFO_ONLY") == "1"


def _read(name):
    path = DATA_DIR / name
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ImproperlyConfigured(f"{path} is missing: start devidp with `python -m devidp`, which creates it") from None


SECRET_KEY = _read("secret_key").strip()
DEBUG = False
ALLOWED_HOSTS = ["localhost", ".localhost", "127.0.0.1", "[::1]", ISSUER_HOST]

INSTALLED_APPS = [
    "devidp",  # first, so its templates override django-oauth-toolkit's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "devidp.urls"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "devidp.sqlite3",
        # Requests are served on threads; IMMEDIATE avoids SQLite's
        # "database is locked" when two of them upgrade a read to a write.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # WAL lets the login page read while a token is written.
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tables straight from the models (migrate --run-syncdb), not from migration
# files: replaying django-oauth-toolkit's ~20 migrations on SQLite took about
# 3 s of a start-up that must stay well under 5. devidp.bootstrap.ensure_schema
# rebuilds the database when the models change (the data is all seeded).
MIGRATION_MODULES = {label: None for label in ("auth", "contenttypes", "sessions", "oauth2_provider", "devidp")}

PASSWORD_HASHERS = ["devidp.hashers.DevPBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = []

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# The session cookie is per host name and port, so devidp's never meets a
# Gatehouse site's cookies on *.localhost; the distinct name keeps it obvious.
SESSION_COOKIE_NAME = "devidp_session"
CSRF_COOKIE_NAME = "devidp_csrftoken"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    # Fixed, so tokens carry the same iss whether the request came in as
    # localhost, 127.0.0.1 or through a proxy.
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_RSA_PRIVATE_KEY": _read("oidc_rsa_private_key.pem"),
    "OAUTH2_VALIDATOR_CLASS": "devidp.validators.DevOAuth2Validator",
    "SCOPES": {
        "openid": "OpenID Connect",
        "email": "Email address",
        "profile": "Name and username",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    "PKCE_REQUIRED": True,
    # S256 only: without this gate django-oauth-toolkit still takes "plain",
    # which is also what a request with no code_challenge_method means.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # Local sites are plain http on *.localhost.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ALLOWED_SCHEMES": ["http", "https"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # Gatehouse sends client_id and post_logout_redirect_uri without an
    # id_token_hint; the spec then requires a confirmation page, which devidp
    # shows (see templates/oauth2_provider/logout_confirm.html).
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
}

# One line per request comes from the server (devidp.__main__); Django's own
# 4xx warnings would repeat it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "oauth2_provider": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
