"""The signed identity assertion for a site's backend origins (schema 3).

A short-lived ES256 JWT the edge adds as the `x-gatehouse-assertion` request
header on the site's configured path prefixes. A backend verifies it with the
public key set the edge publishes at /_gatehouse/jwks.json (docs/email-code.md,
"The identity assertion for backend origins").

Signing costs a P-256 scalar multiplication (milliseconds in pure Python), so
it never happens per request: the assertion is minted at sign-in and kept in
the session, and once it is near its end a container mints the next one for
that session once and remembers it (`for_request`).
"""

import hashlib
import hmac
import json
import os

from . import jws

HEADER = "x-gatehouse-assertion"
ISSUER = "gatehouse"
# An assertion with less than this left is replaced before it is forwarded:
# a backend's clock and the request's trip must not make it arrive expired.
REFRESH_MARGIN = 30
# Claims of the session the assertion carries, and no others.
CARRIED = ("sub", "email", "email_verified", "name", "via")
_MAX_CACHE = 2048


def _private_key(cfg):
    return int.from_bytes(jws.b64url_decode(cfg.assertion["signing_key"]), "big")


def public_jwks(cfg):
    """The site's public key set ({"keys": [one P-256 key]}), worked out once per config."""
    jwks = cfg.derived.get("assertion-jwks")
    if jwks is None:
        curve = jws._P256
        x, y = _affine(curve, *jws._mul_add(curve, _private_key(cfg), 0, curve.gx, curve.gy))
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": jws.b64url_encode(x.to_bytes(32, "big")),
            "y": jws.b64url_encode(y.to_bytes(32, "big")),
            "kid": cfg.assertion["kid"],
            "alg": "ES256",
            "use": "sig",
        }
        jwks = cfg.derived["assertion-jwks"] = {"keys": [jwk]}
    return jwks


def _affine(curve, X, Y, Z):
    p = curve.p
    zi = pow(Z, -1, p)
    zi2 = zi * zi % p
    return X * zi2 % p, Y * zi2 * zi % p


def es256_sign(d, message):
    """ECDSA P-256 / SHA-256 signature (r || s, 64 bytes) with private scalar `d`.

    The nonce is hedged: HMAC of the key and digest together with fresh
    randomness, so neither a weak RNG nor a repeated message repeats k.
    """
    curve = jws._P256
    n = curve.n
    digest = hashlib.sha256(message).digest()
    e = int.from_bytes(digest, "big")
    key = d.to_bytes(32, "big")
    while True:
        seed = hmac.new(key, digest + os.urandom(32), hashlib.sha512).digest()
        k = int.from_bytes(seed, "big") % (n - 1) + 1
        x, _ = _affine(curve, *jws._mul_add(curve, k, 0, curve.gx, curve.gy))
        r = x % n
        if not r:
            continue
        s = pow(k, -1, n) * (e + r * d) % n
        if s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def mint(cfg, session, now):
    """A new assertion for the viewer of `session` (its verified claims)."""
    section = cfg.assertion
    claims = {k: session[k] for k in CARRIED if k in session}
    if cfg.groups_claim and cfg.groups_claim in session:
        claims[cfg.groups_claim] = session[cfg.groups_claim]
    claims.update(iss=ISSUER, aud=cfg.site_id, iat=int(now), exp=int(now) + section["lifetime_seconds"])
    header = {"alg": "ES256", "kid": section["kid"], "typ": "JWT"}
    signing_input = (
        jws.b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + jws.b64url_encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    )
    signature = es256_sign(_private_key(cfg), signing_input.encode("ascii"))
    return signing_input + "." + jws.b64url_encode(signature), claims["exp"]


def session_fields(cfg, session, now):
    """What the session keeps at sign-in: {"ia": assertion, "iae": its expiry}, or {}."""
    if cfg.assertion is None:
        return {}
    token, exp = mint(cfg, session, now)
    return {"ia": token, "iae": exp}


def applies(cfg, path):
    return path in cfg.assertion_exact or path.startswith(cfg.assertion_prefixes)


def for_request(cfg, session_token, session, now):
    """The assertion to forward for this session: the one minted at sign-in
    while it lasts, then one minted here and remembered per session token on
    the config object (a new config starts afresh)."""
    cache = cfg.derived.get("assertions")
    if cache is None:
        cache = cfg.derived["assertions"] = {}
    entry = cache.get(session_token)
    if entry is not None and now < entry[1] - REFRESH_MARGIN:
        return entry[0]
    token, exp = session.get("ia"), session.get("iae")
    if (
        type(token) is not str
        or type(exp) is not int
        or now >= exp - REFRESH_MARGIN
        # Minted under another key (a rotation) or another lifetime policy.
        or exp - now > cfg.assertion["lifetime_seconds"]
        or not _signed_with_current_kid(cfg, token)
    ):
        token, exp = mint(cfg, session, now)
    if len(cache) >= _MAX_CACHE:
        cache.clear()
    cache[session_token] = (token, exp)
    return token


def _signed_with_current_kid(cfg, token):
    expected = cfg.derived.get("assertion-header")
    if expected is None:
        header = {"alg": "ES256", "kid": cfg.assertion["kid"], "typ": "JWT"}
        expected = cfg.derived["assertion-header"] = jws.b64url_encode(
            json.dumps(header, separators=(",", ":")).encode()
        ) + "."
    return token.startswith(expected)
