"""Optional error reporting to Sentry (only when SENTRY_DSN is set).

send_default_pii stays off (no user, no client address, no bodies), and every
event passes `scrub` first: request bodies are dropped (a form carries a
client secret), and any header, cookie, variable or extra whose name looks
like it holds a secret is replaced, as are values that look like tokens.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"
_SECRET_NAME = re.compile(
    r"secret|password|passwd|token|key|cookie|session|csrf|authorization|auth|credential|dsn|signature|client_secret|code|state",
    re.IGNORECASE,
)
# JWTs, Fernet tokens, AWS secret keys and the like inside free text.
_SECRET_VALUE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|gAAAAA[A-Za-z0-9_=-]{20,}|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")
# A URL's password: redis://:pw@host, postgres://user:pw@host.
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.IGNORECASE)


def _scrub_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{FILTERED}@", text)
    return _SECRET_VALUE.sub(FILTERED, text)


def _scrub(value, depth=0):
    if depth > 20:
        return FILTERED
    if isinstance(value, dict):
        return {
            key: (FILTERED if isinstance(key, str) and _SECRET_NAME.search(key) else _scrub(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def scrub(event, hint=None):
    """before_send / before_send_transaction: the event without anything secret."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        if "query_string" in request:
            request["query_string"] = FILTERED if request["query_string"] else ""
    return _scrub(event)


def scrub_breadcrumb(crumb, hint=None):
    return _scrub(crumb)


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # send_default_pii is left at its default, False (sentry-sdk 2.75
        # deprecates passing it in favour of data_collection, which says the
        # same thing per category here): no user, no bodies, no query data.
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,  # a frame's locals may hold a decrypted secret
        },
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate,
    )
