"""DEV ONLY: the redirect rule that lets any local Gatehouse site use devidp.

Gatehouse sites run locally as ``http://<site>.localhost:<port>`` (Chromium
sends every ``*.localhost`` name to loopback) and tests start callback catchers
on ``127.0.0.1:<random port>``. Registering each of those on the client would
mean editing the database per test, so devidp accepts them by rule. A real
provider must compare redirect URIs exactly; nothing here belongs in one.
"""

import re
from urllib.parse import urlsplit

CALLBACK_PATH = "/_gatehouse/callback"

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Anything a browser would normalise differently from urlsplit (backslashes,
# whitespace, percent-escapes in the host) is refused rather than interpreted.
_SAFE = re.compile(r"^[A-Za-z0-9._~:/?&=+%-]+$")


def _local_origin(uri):
    """Return the split URI if it points at a *.localhost name or 127.0.0.1, else None."""
    if not uri or not _SAFE.match(uri):
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.password or parts.fragment:
        return None
    host = parts.hostname or ""
    if host == "127.0.0.1":
        return parts if parts.scheme == "http" and parts.port else None
    labels = host.split(".")
    if len(labels) >= 2 and labels[-1] == "localhost" and all(_LABEL.match(label) for label in labels[:-1]):
        return parts
    return None


def is_dev_callback(uri):
    """``http(s)://<name>.localhost[:port]/_gatehouse/callback`` or ``http://127.0.0.1:<port>/_gatehouse/callback``."""
    parts = _local_origin(uri)
    return bool(parts) and parts.path == CALLBACK_PATH and not parts.query


def is_dev_console_callback(uri):
    """The console's staff sign-in on loopback: ``http://127.0.0.1:<port>/oidc/callback/`` or ``http://localhost:<port>/...``."""
    from devidp.personas import CONSOLE_CALLBACK_PATH

    if not uri or not _SAFE.match(uri):
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or not port or parts.username or parts.password or parts.query or parts.fragment:
        return False
    return parts.hostname in ("127.0.0.1", "localhost") and parts.path == CONSOLE_CALLBACK_PATH


def is_dev_post_logout(uri):
    """Any page on a ``*.localhost`` site (or 127.0.0.1 with a port)."""
    return _local_origin(uri) is not None
