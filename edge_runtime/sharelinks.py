"""Share links: `/_gatehouse/link/<id>.<secret>` gives whoever holds it a session.

The config lists each active link as its public id, the SHA-256 of its secret
and its expiry (config.py, `share_links`); the secret itself is only ever in
the link staff handed out. See docs/share-links.md.

A link is bearer by design: a mail scanner that opens it gets a session of
its own and uses nothing up, so the person who clicks after it still gets in.
"""

import hashlib
import hmac

from .config import SHARE_LINK_ID_LENGTH, SHARE_LINK_PREFIX, SHARE_LINK_SECRET_LENGTH

VIA = "share_link"
SUBJECT_PREFIX = "share-link:"
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Compared against when the id is unknown, so every well-formed token costs
# one hash and one comparison whether or not its id is listed.
_NO_VERIFIER = bytes(32)

MALFORMED = "malformed"
UNKNOWN = "unknown or revoked"
WRONG_SECRET = "secret does not match"
EXPIRED = "expired"


def parse(path):
    """(link id, secret) of a link path, or None when it is not one's shape."""
    token = path[len(SHARE_LINK_PREFIX):]
    if len(token) != SHARE_LINK_ID_LENGTH + 1 + SHARE_LINK_SECRET_LENGTH or token[SHARE_LINK_ID_LENGTH] != ".":
        return None
    link_id, secret = token[:SHARE_LINK_ID_LENGTH], token[SHARE_LINK_ID_LENGTH + 1:]
    if not (_TOKEN_CHARS.issuperset(link_id) and _TOKEN_CHARS.issuperset(secret)):
        return None
    return link_id, secret


def verifier_of(secret):
    """What the config holds for a secret: its SHA-256 (the secret is 256
    random bits, so there is nothing to guess and no need for a slow hash)."""
    return hashlib.sha256(secret.encode("ascii")).digest()


def check(cfg, path, now):
    """(link id, its expiry, None) for a link that admits now, else (link id or None, None, reason)."""
    parsed = parse(path)
    if parsed is None:
        return None, None, MALFORMED
    link_id, secret = parsed
    entry = cfg.share_links.get(link_id)
    expected = entry[0] if entry is not None else _NO_VERIFIER
    matches = hmac.compare_digest(verifier_of(secret), expected)
    if entry is None:
        return link_id, None, UNKNOWN
    if not matches:
        return link_id, None, WRONG_SECRET
    if now >= entry[1]:
        return link_id, None, EXPIRED
    return link_id, entry[1], None


def session_claims(cfg, link_id, expires, now):
    """The session a link mints: ended by the link's expiry as well as the
    site's session lifetime, and marked so that allowed() asks the config
    whether the link is still listed on every later request."""
    return {
        "sub": SUBJECT_PREFIX + link_id,
        "site": cfg.site_id,
        "iat": int(now),
        "exp": min(int(now) + cfg.session_lifetime, int(expires)),
        "via": VIA,
        "link": link_id,
    }


def admits(cfg, claims):
    """Is this share-link session still good under this config?

    Its link must still be listed (a revoked link drops out of the config,
    and its sessions end with it), and it must have started after the last
    "sign everyone out" (the new session key already ends older sessions;
    this says so in terms of the session itself).
    """
    link_id = claims.get("link")
    if type(link_id) is not str or link_id not in cfg.share_links:
        return False
    iat = claims.get("iat")
    if type(iat) is not int:
        return False
    return cfg.revoked_at is None or iat >= cfg.revoked_at
