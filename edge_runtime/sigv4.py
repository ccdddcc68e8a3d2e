"""AWS Signature Version 4, enough for the edge's own S3 and CloudFront calls.

The region is always the caller's choice: for a config fetch it is the config
bucket's region from the edge settings, never ``AWS_REGION`` (that is the
region the replica of the function happens to run in).
"""

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class SigV4Error(Exception):
    """Signing is impossible (no credentials, bad arguments)."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def credentials_from_env(environ=None):
    """The execution role's credentials, which Lambda puts in the environment."""
    env = os.environ if environ is None else environ
    access_key = env.get("AWS_ACCESS_KEY_ID")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        raise SigV4Error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
    return Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None)


# Deriving the key costs four HMACs; it only changes once a day per scope.
_KEY_CACHE_MAX = 32
_key_cache = {}
_key_lock = threading.Lock()


def signing_key(secret_key, date, region, service):
    cache_key = (secret_key, date, region, service)
    key = _key_cache.get(cache_key)
    if key is not None:
        return key
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    with _key_lock:
        if len(_key_cache) >= _KEY_CACHE_MAX:
            _key_cache.clear()
        _key_cache[cache_key] = key
    return key


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _uri_encode(value, safe=""):
    # RFC 3986 unreserved characters stay, everything else is %XX (upper case).
    return quote(value, safe="-_.~" + safe)


def canonical_uri(path, service):
    if not path:
        return "/"
    if service == "s3":
        # S3 signs the path exactly as sent: the caller has encoded the key once.
        return path
    # Every other service signs the already-encoded path encoded again.
    return _uri_encode(path, safe="/")


def canonical_query(query):
    pairs = [(_uri_encode(k), _uri_encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_value(value):
    return " ".join(str(value).split())


def payload_hash(payload, service, unsigned_payload=False):
    if unsigned_payload:
        return UNSIGNED_PAYLOAD
    if payload is None or payload == b"":
        return EMPTY_SHA256
    return hashlib.sha256(payload).hexdigest()


def canonical_request(method, url, headers, payload_digest, service):
    """(canonical request, signed header names) for already-complete headers."""
    parts = urlsplit(url)
    names = sorted(headers)
    canonical_headers = "".join(f"{name}:{_canonical_value(headers[name])}\n" for name in names)
    signed = ";".join(names)
    request = "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path, service),
            canonical_query(parts.query),
            canonical_headers,
            signed,
            payload_digest,
        ]
    )
    return request, signed


def sign(
    method,
    url,
    *,
    region,
    service,
    credentials,
    headers=None,
    payload=b"",
    unsigned_payload=False,
    now=None,
):
    """Return the headers to send: the caller's, plus host, x-amz-date,
    x-amz-security-token (temporary credentials), x-amz-content-sha256 (S3)
    and authorization.

    `url` is the URL as it goes on the wire (path already percent-encoded).
    `now` is seconds since the epoch (default: the current time).
    """
    if not region or not service:
        raise SigV4Error("region and service are required")
    parts = urlsplit(url)
    if not parts.hostname:
        raise SigV4Error("the URL has no host")
    stamp = time.gmtime(time.time() if now is None else now)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", stamp)
    date = amz_date[:8]

    signed_headers = {name.lower(): value for name, value in (headers or {}).items()}
    host = parts.hostname
    if parts.port is not None and not (
        (parts.scheme == "https" and parts.port == 443) or (parts.scheme == "http" and parts.port == 80)
    ):
        host = f"{host}:{parts.port}"
    signed_headers["host"] = host
    signed_headers["x-amz-date"] = amz_date
    if credentials.session_token:
        signed_headers["x-amz-security-token"] = credentials.session_token
    digest = payload_hash(payload, service, unsigned_payload)
    if service == "s3":
        signed_headers["x-amz-content-sha256"] = digest
    signed_headers.pop("authorization", None)

    request, signed_names = canonical_request(method, url, signed_headers, digest, service)
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    key = signing_key(credentials.secret_key, date, region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed_headers["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed_headers
