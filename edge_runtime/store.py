"""Site configs by host name, read from the private S3 config bucket.

Per container (one Lambda@Edge instance, or the local gateway process):

- a config is cached for ``cache_ttl_seconds``;
- a host without a config (S3 answers 404: the edge role may list the config
  prefix, so S3 tells a missing key from a denied one) is remembered as
  missing for ``missing_ttl_seconds``;
- when S3 fails (timeout, connection error, 5xx), denies the read (403: an
  IAM, bucket-policy or KMS mistake, never "no such site"; or a KMS error) or
  returns a config that no longer parses, the last good config is served
  while it is at most ``stale_ttl_seconds`` old; after that, or with nothing
  cached, :class:`ConfigUnavailable` is raised and the handler answers 503.
  Each failure is one JSON line on stderr with S3's error code; a denial is
  ``config_access_denied`` at level ``error``;
- after a failure the store waits ``min(cache_ttl_seconds, 1)`` s before it
  asks S3 again, so an outage costs one fetch timeout per host per second
  rather than one per request;
- valid configs are held least recently used first within
  ``cache_max_bytes``: each entry is charged, when it is stored, what
  :func:`entry_bytes` counts (``sys.getsizeof`` over everything the parsed
  config holds, plus room for the keys it derives on first use); a hit moves
  it to the front. An evicted host is fetched again on its next request, and
  during an S3 outage it has no stale copy to fall back on. The newest
  config is always kept, even one larger than the whole budget;
- the other per-host tables (hosts without a config, recent failures) are
  bounded by count (``MAX_ENTRIES``), so a stream of made-up host names
  cannot grow the container's memory nor push valid configs out.

Not charged: the sessions a config remembers as verified
(``tokens.verify``): at most 2,048 per config, dropped with the config object
at each refresh, so they grow with viewers per ``cache_ttl_seconds``, not
with hosts.
"""

import http.client
import json
import re
import sys
import threading
import time
from collections import OrderedDict
from urllib.parse import quote, urlsplit

from . import sigv4
from .config import is_host_name

MAX_CONFIG_BYTES = 1024 * 1024
RETRY_AFTER_FAILURE = 1.0
MAX_ENTRIES = 1000
# What a cached config grows by after it is stored (measured with
# tracemalloc): token key tables per session key, and the parsed key set per
# published JWK (tokens._keys, oidc._published).
DERIVED_BYTES = 400
DERIVED_BYTES_PER_SESSION_KEY = 700
DERIVED_BYTES_PER_JWK = 600

# S3's error document: only its <Code> is logged (the <Message> may name the
# role and the key; a request id is of no use without the rest). Compiled on
# first use: only a failing fetch needs it, not a cold start.
_S3_ERROR_CODE = None


class ConfigUnavailable(Exception):
    """No usable config right now (S3 unreachable and nothing fresh enough cached)."""


class FetchError(Exception):
    """A fetch that failed for a reason worth retrying (never a 404)."""


def normalise_host(host):
    """Lower-case host name without port, or None if it is not a host name."""
    if not isinstance(host, str):
        return None
    host = host.strip().lower()
    if host.count(":") == 1:
        host, _, port = host.partition(":")
        if port and not port.isdigit():
            return None
    return host if is_host_name(host) else None


def s3_object_url(bucket, key, region, endpoint_url=None):
    """The URL of an S3 object, key encoded once (as S3 signs it)."""
    path = quote(key, safe="/-_.~")
    if endpoint_url:
        # moto and other stand-ins only route path-style requests reliably.
        return f"{endpoint_url.rstrip('/')}/{bucket}/{path}"
    if "." in bucket:
        # A dotted bucket breaks the *.s3 wildcard certificate: use path style.
        return f"https://s3.{region}.amazonaws.com/{bucket}/{path}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}"


def http_get(url, headers, timeout, max_bytes=MAX_CONFIG_BYTES):
    """GET with http.client: (status, body). Raises OSError on network trouble.

    `timeout` applies to each socket operation (connect, each read), as
    http.client offers no overall deadline.
    """
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FetchError(f"response larger than {max_bytes} bytes")
        return response.status, body
    except http.client.HTTPException as exc:
        raise FetchError(f"bad HTTP response: {type(exc).__name__}") from None
    finally:
        connection.close()


def s3_error_code(body):
    """The <Code> of an S3 error document, or None."""
    global _S3_ERROR_CODE
    if not isinstance(body, (bytes, bytearray)):
        return None
    if _S3_ERROR_CODE is None:
        _S3_ERROR_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")
    match = _S3_ERROR_CODE.search(bytes(body[:4096]))
    return match.group(1).decode("ascii") if match else None


def log(event, **fields):
    # One JSON line; callers pass host names and reasons only, never URLs
    # with signatures or the config itself.
    sys.stderr.write(json.dumps({"gatehouse": event, **fields}, separators=(",", ":")) + "\n")


class S3Fetcher:
    """fetch(key) -> (status, body) for objects in the config bucket."""

    def __init__(self, settings, credentials=None):
        self.settings = settings
        self.credentials = credentials

    def __call__(self, key):
        s = self.settings
        url = s3_object_url(s.config_bucket, key, s.config_region, s.endpoint_url)
        credentials = self.credentials or sigv4.credentials_from_env()
        # The bucket's region, not AWS_REGION: the replica may run anywhere.
        headers = sigv4.sign("GET", url, region=s.config_region, service="s3", credentials=credentials)
        return http_get(url, headers, s.fetch_timeout_seconds)


# An entry's share of the OrderedDict and the _Entry itself (measured with
# tracemalloc at 10,000 entries), charged on top of its config.
_SLOT_BYTES = 200


class _HostLock:
    """One fetch per host at a time; the lock exists only while someone holds
    or waits for it, so the table never outgrows the requests in flight."""

    __slots__ = ("store", "host", "lock", "users")

    def __init__(self, store, host):
        self.store = store
        self.host = host
        self.lock = threading.Lock()
        self.users = 0

    def __enter__(self):
        self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()
        store = self.store
        with store._lock:
            self.users -= 1
            if not self.users and store._host_locks.get(self.host) is self:
                del store._host_locks[self.host]
        return False


def entry_bytes(config):
    """The bytes a parsed SiteConfig holds, each object counted once.

    A walk with sys.getsizeof, once per fetch: within 3% of what tracemalloc
    sees for every shape measured, where the JSON body's length times one
    factor is off by up to 2.7x (a config of RSA keys is long strings, 3x its
    body; one of short e-mail addresses is small objects, 8x). It costs about
    half of parsing the config.
    """
    from .config import SiteConfig

    getsizeof = sys.getsizeof
    seen = set()
    total = 0
    stack = [config]
    pop, extend = stack.pop, stack.extend
    while stack:
        obj = pop()
        ident = id(obj)
        if ident in seen:
            continue
        seen.add(ident)
        total += getsizeof(obj)
        kind = type(obj)
        if kind is dict:
            extend(obj.keys())
            extend(obj.values())
        elif kind is list or kind is tuple or kind is frozenset or kind is set:
            extend(obj)
        elif kind is SiteConfig:
            extend([getattr(obj, name, None) for name in SiteConfig.__slots__])
    jwks = config.jwks.get("keys") if isinstance(config.jwks, dict) else None
    return (
        total
        + DERIVED_BYTES
        + DERIVED_BYTES_PER_SESSION_KEY * len(config.session_keys)
        + DERIVED_BYTES_PER_JWK * (len(jwks) if isinstance(jwks, list) else 0)
    )


class _Entry:
    __slots__ = ("config", "fetched_at", "retry_at", "size")

    def __init__(self, config, fetched_at, size=0):
        self.config = config  # None: the host has no config
        self.fetched_at = fetched_at
        self.retry_at = None
        self.size = size  # bytes charged against cache_max_bytes


class ConfigStore:
    def __init__(self, settings, *, clock=time.monotonic, fetcher=None):
        self.settings = settings
        self.clock = clock
        self.fetcher = fetcher or S3Fetcher(settings)
        self.fetch_count = 0
        self._entries = OrderedDict()  # host -> _Entry with a config, least recently used first
        self._missing = OrderedDict()  # host -> _Entry without one (S3 said 404), oldest first
        self.cached_bytes = 0  # what the entries in _entries are charged
        self._failed_at = {}  # host -> when a fetch last failed with nothing cached
        self._lock = threading.Lock()
        self._host_locks = {}

    def key_for(self, host):
        return f"{self.settings.config_prefix}{host}.json"

    def get(self, host):
        """The host's SiteConfig, or None if it has none. Raises ConfigUnavailable."""
        host = normalise_host(host)
        if host is None:
            return None
        hit, value = self._cached(host)
        if hit:
            return value
        with self._host_lock(host):
            # Another thread may have fetched while this one waited.
            hit, value = self._cached(host)
            if hit:
                return value
            return self._refresh(host)

    def _host_lock(self, host):
        with self._lock:
            lock = self._host_locks.get(host)
            if lock is None:
                lock = self._host_locks[host] = _HostLock(self, host)
            lock.users += 1
            return lock

    def _cached(self, host):
        """(True, value) when the cache answers without a fetch."""
        now = self.clock()
        entry = self._entries.get(host)
        if entry is not None:
            try:
                self._entries.move_to_end(host)
            except KeyError:  # evicted by another thread since the get
                pass
            ttl = self.settings.cache_ttl_seconds
        else:
            entry = self._missing.get(host)
            ttl = self.settings.missing_ttl_seconds
        if entry is not None:
            if now - entry.fetched_at < ttl:
                return True, entry.config
            if entry.retry_at is not None and now < entry.retry_at:
                return True, self._stale(host, entry, now)
        else:
            failed_at = self._failed_at.get(host)
            if failed_at is not None and now - failed_at < self._retry_after():
                raise ConfigUnavailable(host)
        return False, None

    def _retry_after(self):
        return min(self.settings.cache_ttl_seconds, RETRY_AFTER_FAILURE)

    def _stale(self, host, entry, now):
        if entry is None or now - entry.fetched_at > self.settings.stale_ttl_seconds:
            raise ConfigUnavailable(host)
        return entry.config

    def _refresh(self, host):
        from .config import ConfigError, parse

        key = self.key_for(host)
        with self._lock:
            self.fetch_count += 1
        started = self.clock()
        try:
            status, body = self.fetcher(key)
        except (OSError, FetchError, sigv4.SigV4Error) as exc:
            return self._failed(host, started, reason=type(exc).__name__)
        now = self.clock()
        if status == 404:
            self._remember(host, _Entry(None, now))
            return None
        if status != 200:
            code = s3_error_code(body)
            if status == 403 or (code or "").startswith("KMS."):
                # The role may list the prefix, so a missing config is a 404:
                # a 403 is a denial (IAM, bucket policy, the config key's
                # policy). Every site would turn into "no such site" if it
                # counted as missing; it is an outage instead.
                return self._failed(
                    host, started, event="config_access_denied", level="error",
                    reason="s3_denied", status=status, s3_error=code,
                )
            return self._failed(host, started, reason="http_status", status=status, s3_error=code)
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            config = parse(doc)
        except ConfigError as exc:
            # Names the fields, never their values: the document holds secrets.
            problems = [str(e).split(":", 1)[0] for e in getattr(exc, "errors", [])][:10]
            return self._failed(host, started, reason="invalid_config", problems=problems)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self._failed(host, started, reason="not_json")
        # Measured outside the lock: the walk costs about half a parse.
        self._remember(host, _Entry(config, now, entry_bytes(config) + sys.getsizeof(host) + _SLOT_BYTES))
        return config

    def _remember(self, host, entry):
        with self._lock:
            self._failed_at.pop(host, None)
            entries, missing = self._entries, self._missing
            old = entries.pop(host, None)
            if old is not None:
                self.cached_bytes -= old.size
            missing.pop(host, None)
            if entry.config is None:
                # Its own table, bounded by count: a stream of made-up host
                # names (each a 404) never pushes a valid config out.
                if len(missing) >= MAX_ENTRIES:
                    missing.popitem(last=False)
                missing[host] = entry
                return
            entries[host] = entry
            self.cached_bytes += entry.size
            budget = self.settings.cache_max_bytes
            while self.cached_bytes > budget and len(entries) > 1:
                _, evicted = entries.popitem(last=False)
                self.cached_bytes -= evicted.size

    def _remember_failure(self, host, now):
        with self._lock:
            failed = self._failed_at
            failed.pop(host, None)  # re-inserted last: the dict stays oldest first
            if len(failed) >= MAX_ENTRIES:
                # A record past its retry pause no longer holds a fetch back:
                # drop those, or the older half if most are recent. At worst
                # those hosts are asked again a little sooner.
                cutoff = now - self._retry_after()
                stale = [h for h, t in failed.items() if t <= cutoff]
                if len(stale) < MAX_ENTRIES // 2:
                    stale = list(failed)[: MAX_ENTRIES // 2]
                for name in stale:
                    del failed[name]
            failed[host] = now

    def _failed(self, host, started, event="config_fetch_failed", **fields):
        now = self.clock()
        entry = self._entries.get(host) or self._missing.get(host)
        age = None if entry is None else round(now - entry.fetched_at, 3)
        serving_stale = entry is not None and now - entry.fetched_at <= self.settings.stale_ttl_seconds
        log(
            event,
            host=host,
            key=self.key_for(host),
            elapsed_ms=int((now - started) * 1000),
            stale_age=age,
            serving_stale=serving_stale,
            **fields,
        )
        if entry is None:
            self._remember_failure(host, now)
            raise ConfigUnavailable(host)
        entry.retry_at = now + self._retry_after()
        return self._stale(host, entry, now)
