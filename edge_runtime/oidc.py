"""The provider side of the callback: token exchange, id_token checks,
userinfo, and the one refetch of the provider's keys allowed for an unknown
`kid`.

Which keys verify an id_token: the set the console published in the config
comes first and always counts. A set refetched from `jwks_uri` (after a token
named a kid the published set lacks) only adds keys whose kid the published
set does not have, belongs to the published set it was fetched for (a config
with other keys starts without it), and is dropped after
`JWKS_REFETCHED_TTL`: by then the console, which rereads every provider's
keys hourly, has published them, or they were never meant to last.
"""

import base64
import hashlib
import hmac
import http.client
import json
import ssl
import threading
import time
from urllib.parse import quote, urlencode, urlsplit

from . import jws

LEEWAY_SECONDS = 60
MAX_RESPONSE_BYTES = 256 * 1024
# The whole function has 5 s; keep this much back for building the response.
RESERVE_MS = 400
MAX_CALL_SECONDS = 3.0
JWKS_REFETCH_INTERVAL = 300.0
# At least the console's own refresh period (GATEHOUSE_PROVIDER_KEYS_REFRESH_SECONDS,
# an hour by default), so a rotation is covered until the console publishes it.
JWKS_REFETCHED_TTL = 3600.0
CONNECT_ATTEMPTS = 3

_ssl_context = None
_jwks_lock = threading.Lock()
_clock = time.monotonic
# (jwks_uri, published set fingerprint) -> (merged KeySet, fetched at).
# Shared across config objects, so a refetched set survives the store's next
# read of the same config, but not a config that publishes other keys.
_refetched = {}
# The same key -> when a refetch was last tried.
_last_refetch = {}


class ProviderError(Exception):
    """The provider did not answer as it should; `reason` is safe to log.

    `error` is the OAuth error code the token endpoint answered with
    (`invalid_grant`, ...), or None.
    """

    def __init__(self, reason, *, error=None):
        super().__init__(reason)
        self.reason = reason
        self.error = error


def _error_code(doc):
    """The `error` of an OAuth error answer when it is a well-formed code
    (RFC 6749 5.2: printable ASCII without `"` or `\\`), else None."""
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, str) or not 0 < len(error) <= 64:
        return None
    if any(not 0x20 <= ord(ch) <= 0x7E or ch in '"\\' for ch in error):
        return None
    return error


class TokenInvalid(Exception):
    """The id_token fails a check; `reason` is safe to log and show."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Deadline:
    """What is left of the function's time, from the Lambda context."""

    def __init__(self, context):
        remaining = None
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if getter is not None:
            try:
                remaining = float(getter())
            except (TypeError, ValueError):
                remaining = None
        if remaining is None:
            remaining = 5000.0
        self.ends = time.monotonic() + (remaining - RESERVE_MS) / 1000.0

    def timeout(self):
        """Seconds the next call may take, or None when there is no time."""
        left = self.ends - time.monotonic()
        if left < 0.2:
            return None
        return min(left, MAX_CALL_SECONDS)


def _context():
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


def _request(method, url, deadline, *, body=None, headers=None):
    """One HTTP exchange. Retried only when the connection failed before the
    request was sent: the authorization code is single-use, so a request that
    may have reached the provider is never sent twice."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    for _attempt in range(CONNECT_ATTEMPTS):
        timeout = deadline.timeout()
        if timeout is None:
            raise ProviderError("no time left to call the provider")
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout, context=_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.connect()
        except OSError:
            conn.close()
            continue
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
        except (OSError, http.client.HTTPException):
            raise ProviderError("the provider did not answer in time") from None
        finally:
            conn.close()
        if len(data) > MAX_RESPONSE_BYTES:
            raise ProviderError("the provider's answer is too large")
        return response.status, data
    raise ProviderError("could not connect to the provider")


def _json_object(data, what):
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProviderError(f"the {what} is not JSON") from None
    if not isinstance(doc, dict):
        raise ProviderError(f"the {what} is not a JSON object")
    return doc


def exchange_code(cfg, code, verifier, redirect_uri, deadline):
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    if cfg.auth_method == "client_secret_basic":
        # RFC 6749 2.3.1: form-encode id and secret before base64.
        pair = f"{quote(cfg.client_id, safe='')}:{quote(cfg.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        fields["client_id"] = cfg.client_id
        if cfg.auth_method == "client_secret_post":
            fields["client_secret"] = cfg.client_secret
    status, data = _request(
        "POST", cfg.token_endpoint, deadline, body=urlencode(fields), headers=headers
    )
    if status != 200:
        try:
            error = _error_code(json.loads(data))
        except (ValueError, UnicodeDecodeError):
            error = None
        raise ProviderError(f"token endpoint answered {status} ({error or 'no error code'})", error=error)
    doc = _json_object(data, "token response")
    if not isinstance(doc.get("id_token"), str):
        raise ProviderError("token response has no id_token")
    return doc


def fetch_userinfo(cfg, access_token, deadline):
    status, data = _request(
        "GET",
        cfg.userinfo_endpoint,
        deadline,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if status != 200:
        raise ProviderError(f"userinfo answered {status}")
    return _json_object(data, "userinfo response")


def _published(cfg):
    """(KeySet, fingerprint) of the keys the console published in this config."""
    if cfg.keyset is None:
        cfg.keyset = jws.KeySet.from_jwks(cfg.jwks)
    fingerprint = cfg.derived.get("jwks-fingerprint")
    if fingerprint is None:
        text = json.dumps(cfg.jwks, sort_keys=True, separators=(",", ":"))
        fingerprint = cfg.derived["jwks-fingerprint"] = hashlib.sha256(text.encode()).hexdigest()
    return cfg.keyset, fingerprint


def _keyset(cfg, now):
    published, fingerprint = _published(cfg)
    entry = _refetched.get((cfg.jwks_uri, fingerprint))
    if entry is None or now - entry[1] > JWKS_REFETCHED_TTL:
        return published
    return entry[0]


def _material(key):
    return (key.kind, getattr(key, "n", None), getattr(key, "e", None), getattr(key, "x", None), getattr(key, "y", None))


def _merge(published, refetched):
    """The published keys, then refetched keys with a kid the published set lacks.

    A refetched key under a published kid is dropped, not tried as well: the
    console's set says which key that kid names.
    """
    kids = {key.kid for key in published if key.kid is not None}
    seen = {_material(key) for key in published}
    extra = [
        key
        for key in refetched
        if (key.kid not in kids if key.kid is not None else _material(key) not in seen)
    ]
    return jws.KeySet((*published, *extra))


def _refetch_keys(cfg, deadline, now):
    """Fetch the provider's keys again, at most once per interval per published set."""
    if not cfg.jwks_uri:
        return None
    published, fingerprint = _published(cfg)
    slot = (cfg.jwks_uri, fingerprint)
    with _jwks_lock:
        last = _last_refetch.get(slot)
        if last is not None and now - last < JWKS_REFETCH_INTERVAL:
            return None
        # Forget what no longer matters, so old published sets cannot pile up.
        for old in [k for k, t in _last_refetch.items() if now - t >= JWKS_REFETCHED_TTL]:
            _last_refetch.pop(old, None)
            _refetched.pop(old, None)
        _last_refetch[slot] = now
    try:
        status, data = _request("GET", cfg.jwks_uri, deadline, headers={"Accept": "application/json"})
        if status != 200:
            return None
        keyset = _merge(published, jws.KeySet.from_jwks(_json_object(data, "key set")))
    except (ProviderError, jws.JWSError):
        return None
    _refetched[slot] = (keyset, now)
    return keyset


def verify_id_token(cfg, id_token, nonce, now, deadline):
    """Check the id_token's signature and claims; return its claims."""
    secret = cfg.client_secret.encode() if cfg.client_secret and "HS256" in cfg.id_token_algs else None
    try:
        try:
            _header, claims = jws.verify(id_token, _keyset(cfg, _clock()), cfg.id_token_algs, hmac_secret=secret)
        except jws.UnknownKeyError:
            keyset = _refetch_keys(cfg, deadline, _clock())
            if keyset is None:
                raise
            _header, claims = jws.verify(id_token, keyset, cfg.id_token_algs, hmac_secret=secret)
    except jws.JWSError as exc:
        raise TokenInvalid(f"signature: {exc}") from None
    if claims.get("iss") != cfg.issuer:
        raise TokenInvalid("issuer does not match")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if cfg.client_id not in audiences:
        raise TokenInvalid("audience does not include this client")
    azp = claims.get("azp")
    if azp is not None and azp != cfg.client_id:
        raise TokenInvalid("authorized party is another client")
    if len(audiences) > 1 and azp is None:
        raise TokenInvalid("several audiences and no authorized party")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", None)
    if not _number(exp) or now > exp + LEEWAY_SECONDS:
        raise TokenInvalid("token has expired")
    if not _number(iat) or iat > now + LEEWAY_SECONDS:
        raise TokenInvalid("token is issued in the future")
    if nbf is not None and (not _number(nbf) or nbf > now + LEEWAY_SECONDS):
        raise TokenInvalid("token is not valid yet")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise TokenInvalid("nonce does not match")
    if cfg.tenant_id is not None and claims.get("tid") != cfg.tenant_id:
        raise TokenInvalid("tenant does not match")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenInvalid("token has no subject")
    return claims


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
