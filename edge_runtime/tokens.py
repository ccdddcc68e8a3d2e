"""Tokens the edge signs for itself: session cookie, login transaction, state.

Each is a compact JWS with HS256, a `kid`, and a `typ` naming its purpose.
Each purpose has its own key, derived from the site key with HMAC-SHA256 over
a purpose label, so a token of one purpose never verifies as another even if
its header were rewritten.
"""

import base64
import hashlib
import hmac
import json

SESSION = "gh-session"
TRANSACTION = "gh-tx"
STATE = "gh-state"
EMAIL = "gh-email"  # the e-mail code transaction (emailcode.py)
_PURPOSES = (SESSION, TRANSACTION, STATE, EMAIL)

# A verified session is remembered per config object, so the common request
# (same cookie, same container) costs one dict lookup instead of an HMAC and
# a JSON parse. The cache hangs off the SiteConfig: a new config (new keys,
# "sign everyone out") starts with an empty one.
_VERIFIED_CACHE_SIZE = 2048


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _keys(cfg, purpose):
    """{header segment: (kid, key)} for `purpose`, cached on the config."""
    table = cfg.derived.get(purpose)
    if table is None:
        label = ("gatehouse/" + purpose).encode()
        table = {}
        for kid, secret in cfg.session_keys.items():
            header = json.dumps(
                {"alg": "HS256", "kid": kid, "typ": purpose}, separators=(",", ":"), sort_keys=True
            ).encode()
            key = hmac.new(secret, label, hashlib.sha256).digest()
            table[_b64(header)] = (kid, key)
        cfg.derived[purpose] = table
    return table


def sign(cfg, purpose, claims):
    """Sign `claims` for `purpose` with the site's current key."""
    assert purpose in _PURPOSES
    for header_segment, (kid, key) in _keys(cfg, purpose).items():
        if kid == cfg.current_kid:
            break
    else:
        # Never fall back to another key: the config names the signing key.
        raise ValueError("session.current_kid names none of the session keys")
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header_segment}.{payload}"
    mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def verify(cfg, purpose, token, now):
    """Return the claims of a valid, unexpired token for this site, else None.

    Never raises on bad input: a malformed or forged token is just not valid.
    """
    if not isinstance(token, str):
        return None  # and never a cache key: a list or dict is unhashable
    if purpose == SESSION:
        cache = cfg.derived.get("session-cache")
        if cache is None:
            cache = cfg.derived["session-cache"] = {}
        claims = cache.get(token)
        if claims is not None:
            return claims if now < claims["exp"] else None
    claims = _verify(cfg, purpose, token, now)
    if claims is not None and purpose == SESSION:
        if len(cache) >= _VERIFIED_CACHE_SIZE:
            cache.clear()
        cache[token] = claims
    return claims


def _verify(cfg, purpose, token, now):
    if (
        not isinstance(token, str)
        or len(token) > 4096
        or not token.isascii()
        or token.count(".") != 2
    ):
        return None
    header_segment, payload_segment, signature_segment = token.split(".")
    # The header must be byte-for-byte one we would have written: that pins
    # alg, kid and typ without parsing attacker-chosen JSON.
    entry = _keys(cfg, purpose).get(header_segment)
    if entry is None:
        return None
    mac = hmac.new(entry[1], f"{header_segment}.{payload_segment}".encode("ascii"), hashlib.sha256)
    if not hmac.compare_digest(_b64(mac.digest()), signature_segment):
        return None
    try:
        claims = json.loads(_unb64(payload_segment))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("site") != cfg.site_id:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or now >= exp:
        return None
    return claims
