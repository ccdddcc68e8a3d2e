"""Settings of the edge function itself (not of any site).

Lambda@Edge has no environment variables, so the build bakes the settings
into the zip as ``edge_runtime/edge_settings.json``: inside the package
folder, next to this module. Keeping it inside the package means the file is
found the same way from a checkout, an unpacked zip and ``/var/task``, with
no guess about what sits at the zip root.

Where the settings come from, first match wins:

1. the ``path`` argument of :func:`load_settings`;
2. the file named by the environment variable ``GATEHOUSE_EDGE_SETTINGS``
   (local runs and tests; Lambda@Edge cannot set it);
3. ``edge_settings.json`` next to this module (the baked file).
"""

import json
import math
import os
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

ENV_VAR = "GATEHOUSE_EDGE_SETTINGS"
FILE_NAME = "edge_settings.json"
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), FILE_NAME)

# A viewer-request function has 5 s in all; a config fetch that may use most
# of it leaves the login flow nothing.
MAX_FETCH_TIMEOUT = 4.0
MAX_CACHE_TTL = 24 * 3600.0
MAX_STALE_TTL = 7 * 24 * 3600.0
MAX_MISSING_TTL = 3600.0
# The config cache's budget. A viewer-request function has at most 128 MB;
# 32 MiB holds about 2,300 configs of 14 KB and leaves the rest to the
# runtime, the handler's modules, requests, verified sessions and the
# allocator's slack.
DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024
MIN_CACHE_MAX_BYTES = 1024 * 1024
MAX_CACHE_MAX_BYTES = 8 * 1024**3

DEFAULTS = {
    "config_prefix": "sites/",
    "endpoint_url": None,
    "cache_ttl_seconds": 60,
    "stale_ttl_seconds": 3600,
    "missing_ttl_seconds": 15,
    "fetch_timeout_seconds": 1.0,
    "public_origin": None,
    "cache_max_bytes": DEFAULT_CACHE_MAX_BYTES,
}
REQUIRED = ("config_bucket", "config_region")

# S3's bucket naming rules, minus the legacy upper-case/underscore names that
# cannot be used in a virtual-hosted URL anyway.
_BUCKET = re.compile(r"(?!\d+\.\d+\.\d+\.\d+\Z)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}\Z")


class SettingsError(ValueError):
    """Settings the edge cannot run with; `errors` lists every problem."""

    def __init__(self, errors, source=None):
        self.errors = list(errors)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid edge settings{where}: " + "; ".join(self.errors))


@dataclass(frozen=True)
class EdgeSettings:
    config_bucket: str
    config_prefix: str
    config_region: str
    endpoint_url: str | None
    cache_ttl_seconds: float
    stale_ttl_seconds: float
    missing_ttl_seconds: float
    fetch_timeout_seconds: float
    public_origin: dict | None
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES

    def to_dict(self):
        return {
            "config_bucket": self.config_bucket,
            "config_prefix": self.config_prefix,
            "config_region": self.config_region,
            "endpoint_url": self.endpoint_url,
            "cache_ttl_seconds": self.cache_ttl_seconds,
            "stale_ttl_seconds": self.stale_ttl_seconds,
            "missing_ttl_seconds": self.missing_ttl_seconds,
            "fetch_timeout_seconds": self.fetch_timeout_seconds,
            "public_origin": dict(self.public_origin) if self.public_origin else None,
            "cache_max_bytes": self.cache_max_bytes,
        }


def _number(errors, doc, name, low, high, *, low_inclusive=True):
    value = doc[name]
    # bool is an int subclass; `true` for a TTL is a mistake, not 1 second.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.append(f"{name} must be a number")
        return None
    too_low = value < low if low_inclusive else value <= low
    if too_low or value > high:
        bound = "≥" if low_inclusive else ">"
        errors.append(f"{name} must be {bound} {low:g} and ≤ {high:g}, not {value!r}")
        return None
    return float(value)


def _endpoint(errors, value):
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append("endpoint_url must be a URL string or null")
        return None
    parts = urlsplit(value)
    try:
        parts.port
    except ValueError:
        errors.append("endpoint_url has an invalid port")
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append("endpoint_url must be an http(s) URL with a host")
        return None
    if parts.query or parts.fragment or parts.username or parts.password or parts.path not in ("", "/"):
        errors.append("endpoint_url must be scheme://host[:port] only (no path, query or credentials)")
        return None
    return value.rstrip("/")


def origin_for(host, public_origin):
    """Where viewers reach `host`: `https://host`, unless `public_origin` (a
    local run's {"scheme", "port"} setting) names another scheme or port.

    The console builds the addresses it shows staff with this too, so the
    callback URL staff register is the one the edge sends.
    """
    if not public_origin:
        return f"https://{host}"
    scheme = public_origin.get("scheme", "https")
    port = public_origin.get("port")
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _public_origin(errors, value):
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append("public_origin must be an object or null")
        return None
    unknown = sorted(set(value) - {"scheme", "port"})
    if unknown:
        errors.append(f"public_origin has unknown keys: {', '.join(unknown)}")
    scheme = value.get("scheme", "https")
    if scheme not in ("http", "https"):
        errors.append("public_origin.scheme must be 'http' or 'https'")
    port = value.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        errors.append("public_origin.port must be an integer 1-65535 or absent")
    return {"scheme": scheme, "port": port} if port is not None else {"scheme": scheme}


def settings_from_dict(doc, source=None):
    """Validate a settings document and return EdgeSettings; raise SettingsError."""
    if not isinstance(doc, dict):
        raise SettingsError(["the settings must be a JSON object"], source)
    errors = []
    unknown = sorted(set(doc) - set(DEFAULTS) - set(REQUIRED))
    if unknown:
        # A misspelt key silently falling back to a default is worse than refusing.
        errors.append(f"unknown keys: {', '.join(unknown)}")
    missing = [name for name in REQUIRED if name not in doc]
    if missing:
        errors.append(f"missing keys: {', '.join(missing)}")
        raise SettingsError(errors, source)
    doc = {**DEFAULTS, **doc}

    bucket = doc["config_bucket"]
    if not isinstance(bucket, str) or not _BUCKET.match(bucket) or ".." in bucket:
        errors.append("config_bucket must be an S3 bucket name (3-63 of a-z 0-9 . -)")
    prefix = doc["config_prefix"]
    if not isinstance(prefix, str) or len(prefix) > 512 or prefix.startswith("/") or any(ord(c) < 0x20 for c in prefix):
        errors.append("config_prefix must be a key prefix such as 'sites/' (no leading '/')")
    region = doc["config_region"]
    if not isinstance(region, str) or not _REGION.match(region):
        errors.append("config_region must be an AWS region name such as 'us-east-1'")
    endpoint = _endpoint(errors, doc["endpoint_url"])
    cache_ttl = _number(errors, doc, "cache_ttl_seconds", 0, MAX_CACHE_TTL)
    stale_ttl = _number(errors, doc, "stale_ttl_seconds", 0, MAX_STALE_TTL)
    missing_ttl = _number(errors, doc, "missing_ttl_seconds", 0, MAX_MISSING_TTL)
    timeout = _number(errors, doc, "fetch_timeout_seconds", 0, MAX_FETCH_TIMEOUT, low_inclusive=False)
    if cache_ttl is not None and stale_ttl is not None and stale_ttl < cache_ttl:
        errors.append("stale_ttl_seconds must be ≥ cache_ttl_seconds (a config is never stale before it expires)")
    public_origin = _public_origin(errors, doc["public_origin"])
    cache_max_bytes = doc["cache_max_bytes"]
    if isinstance(cache_max_bytes, bool) or not isinstance(cache_max_bytes, int):
        errors.append("cache_max_bytes must be a whole number of bytes")
    elif not MIN_CACHE_MAX_BYTES <= cache_max_bytes <= MAX_CACHE_MAX_BYTES:
        errors.append(f"cache_max_bytes must be ≥ {MIN_CACHE_MAX_BYTES} and ≤ {MAX_CACHE_MAX_BYTES}, not {cache_max_bytes!r}")
    if errors:
        raise SettingsError(errors, source)
    return EdgeSettings(
        config_bucket=bucket,
        config_prefix=prefix,
        config_region=region,
        endpoint_url=endpoint,
        cache_ttl_seconds=cache_ttl,
        stale_ttl_seconds=stale_ttl,
        missing_ttl_seconds=missing_ttl,
        fetch_timeout_seconds=timeout,
        public_origin=public_origin,
        cache_max_bytes=cache_max_bytes,
    )


def settings_path(path=None):
    """The file load_settings would read."""
    return path or os.environ.get(ENV_VAR) or DEFAULT_PATH


def load_settings(path=None):
    """Read and validate the settings file; raise SettingsError."""
    source = settings_path(path)
    try:
        with open(source, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        hint = "" if source != DEFAULT_PATH else f" (the build writes it; locally set {ENV_VAR})"
        raise SettingsError([f"no settings file{hint}"], source) from None
    except OSError as exc:
        raise SettingsError([f"cannot read the settings file: {exc.strerror}"], source) from None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsError([f"not valid JSON: {exc}"], source) from None
    return settings_from_dict(doc, source)


_cached = None
_lock = threading.Lock()


def get_settings():
    """The settings for this container, loaded once."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = load_settings()
    return _cached


def reset_settings_cache():
    """Forget the cached settings (tests and the local gateway's reload)."""
    global _cached
    with _lock:
        _cached = None
