"""Compact JWS verification for the edge: standard library only.

What the edge needs from JOSE and nothing more: strict base64url, JWK
parsing for public keys, RS256/384/512, PS256, ES256, ES384 and HS256.

Rules that keep this safe against the usual JWT library mistakes:

* The algorithm is only ever taken from the caller's allow-list, and each
  algorithm only runs with a key of its own type (RSA algs with RSA keys,
  ES256 with P-256 keys, ES384 with P-384 keys, HS256 only with the caller's
  ``hmac_secret``).  ``none`` is never accepted.
* A key set never yields a symmetric key: a secret that sits in a published
  key set is no secret.  For the same reason keys that carry private
  members are skipped.
* Any ``crit`` header is refused (we implement no extension), and so is
  ``b64: false`` (RFC 7797).
* Low-level primitives return False on a bad signature and never raise on
  attacker-controlled input; only the ``verify`` paths raise ``JWSError``.

Nothing heavy happens at import: curve tables are built on first use.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re

__all__ = [
    "JWSError",
    "UnknownKeyError",
    "b64url_encode",
    "b64url_decode",
    "RSAKey",
    "ECKey",
    "OctKey",
    "KeySet",
    "key_from_jwk",
    "verify",
    "verify_compact",
    "sign_hs256",
    "rsa_pkcs1v15_verify",
    "rsa_pss_verify",
    "ecdsa_verify",
    "hmac_verify",
    "SUPPORTED_ALGORITHMS",
]


class JWSError(Exception):
    """The token, or a key, is not acceptable."""


class UnknownKeyError(JWSError):
    """The token names a kid that no key in the set has: the caller may refetch keys once."""


# ---------------------------------------------------------------------------
# base64url (RFC 7515 section 2 / appendix C)

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url, refusing every non-canonical spelling.

    Lax decoders that drop stray characters or ignore the unused low bits let
    one token have many spellings, which breaks anything keyed on the token
    text (replay caches, revocation lists) and hides tampering.
    """
    if not isinstance(data, str):
        raise JWSError("base64url value is not a string")
    if not _B64URL_RE.fullmatch(data):
        raise JWSError("invalid base64url character")
    if len(data) % 4 == 1:
        raise JWSError("invalid base64url length")
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise JWSError("invalid base64url") from None
    # The unused low bits of the last character must be zero; re-encoding is
    # the cheapest exact check for that.
    if b64url_encode(raw) != data:
        raise JWSError("non-canonical base64url")
    return raw


def _b64url_to_int(value, what):
    if not isinstance(value, str) or not value:
        raise JWSError(f"JWK member {what} is missing or not a string")
    return int.from_bytes(b64url_decode(value), "big")


# ---------------------------------------------------------------------------
# Hashes

_HASHES = {
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}
_HASH_ALIASES = {
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
    "SHA256": "SHA-256",
    "SHA384": "SHA-384",
    "SHA512": "SHA-512",
}

# DER DigestInfo prefixes (RFC 8017 section 9.2, note 1): with the explicit NULL
# parameters.  The form without NULL is deliberately not accepted.
_DIGEST_INFO = {
    "SHA-256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "SHA-384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "SHA-512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def _hash_fn(name):
    name = _HASH_ALIASES.get(name, name)
    return _HASHES.get(name), name


# ---------------------------------------------------------------------------
# RSA


def rsa_pkcs1v15_verify(n: int, e: int, hash_name: str, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) by full re-encoding.

    Building the one valid encoded message and comparing it whole avoids
    every parser-based forgery (Bleichenbacher '06 and relatives).
    """
    try:
        fn, name = _hash_fn(hash_name)
        if fn is None or n < 3 or e < 3:
            return False
        k = (n.bit_length() + 7) // 8
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != k:
            return False
        s = int.from_bytes(signature, "big")
        if s >= n:
            return False
        em = pow(s, e, n).to_bytes(k, "big")
        t = _DIGEST_INFO[name] + fn(message).digest()
        if k < len(t) + 11:
            return False
        expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
        return hmac.compare_digest(em, expected)
    except (TypeError, ValueError, OverflowError):
        return False


def _mgf1(fn, seed, length):
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += fn(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def rsa_pss_verify(
    n: int, e: int, hash_name: str, mgf_hash_name: str, salt_len: int, message: bytes, signature: bytes
) -> bool:
    """RSASSA-PSS verification (RFC 8017 8.1.2 and 9.1.2) with a fixed salt length."""
    try:
        fn, _ = _hash_fn(hash_name)
        mgf_fn, _ = _hash_fn(mgf_hash_name)
        if fn is None or mgf_fn is None or n < 3 or e < 3 or salt_len < 0:
            return False
        mod_bits = n.bit_length()
        k = (mod_bits + 7) // 8
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != k:
            return False
        s = int.from_bytes(signature, "big")
        if s >= n:
            return False
        m = pow(s, e, n)
        em_bits = mod_bits - 1
        em_len = (em_bits + 7) // 8
        if m.bit_length() > em_bits:
            return False
        em = m.to_bytes(em_len, "big")
        m_hash = fn(message).digest()
        h_len = len(m_hash)
        if em_len < h_len + salt_len + 2 or em[-1] != 0xBC:
            return False
        db_len = em_len - h_len - 1
        masked_db = em[:db_len]
        h = em[db_len:-1]
        zero_bits = 8 * em_len - em_bits
        if zero_bits and masked_db[0] >> (8 - zero_bits):
            return False
        db_mask = _mgf1(mgf_fn, h, db_len)
        db = (int.from_bytes(masked_db, "big") ^ int.from_bytes(db_mask, "big")).to_bytes(db_len, "big")
        if zero_bits:
            db = bytes([db[0] & (0xFF >> zero_bits)]) + db[1:]
        ps_len = db_len - salt_len - 1
        if db[:ps_len] != b"\x00" * ps_len or db[ps_len] != 0x01:
            return False
        salt = db[ps_len + 1 :]
        h2 = fn(b"\x00" * 8 + m_hash + salt).digest()
        return hmac.compare_digest(h, h2)
    except (TypeError, ValueError, OverflowError, IndexError):
        return False


# ---------------------------------------------------------------------------
# Elliptic curves: short Weierstrass with a = -3, Jacobian coordinates.


class _Curve:
    __slots__ = ("name", "p", "b", "n", "gx", "gy", "size", "_g_table")

    def __init__(self, name, p, b, n, gx, gy, size):
        self.name = name
        self.p = p
        self.b = b
        self.n = n
        self.gx = gx
        self.gy = gy
        self.size = size  # bytes per coordinate / per signature half
        self._g_table = None

    def on_curve(self, x, y):
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x - 3 * x + self.b)) % p == 0

    def g_table(self):
        # Built on first use, not at import: a cold start that never sees an
        # EC token should not pay for it.
        if self._g_table is None:
            self._g_table = _odd_multiples(self, self.gx, self.gy, _G_WINDOW)
        return self._g_table


_P256 = _Curve(
    "P-256",
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    size=32,
)
_P384 = _Curve(
    "P-384",
    p=int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF", 16
    ),
    b=int(
        "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF", 16
    ),
    n=int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    gx=int(
        "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7", 16
    ),
    gy=int(
        "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F", 16
    ),
    size=48,
)
_CURVES = {"P-256": _P256, "P-384": _P384, "secp256r1": _P256, "secp384r1": _P384}

# wNAF widths. Per-key fixed-base tables would make each verification a
# few times faster but cost tens of ms per key to build, and the edge checks
# an id_token only at sign-in, a few times per container: small tables win.
# G's table is built once per process and shared, so it can be wider.
_G_WINDOW = 7
_Q_WINDOW = 5


def _jdouble(p, X, Y, Z):
    # dbl-2001-b for a = -3.
    if not Z or not Y:
        return 0, 1, 0
    delta = Z * Z % p
    gamma = Y * Y % p
    beta = X * gamma % p
    alpha = 3 * (X - delta) * (X + delta) % p
    X3 = (alpha * alpha - 8 * beta) % p
    Z3 = ((Y + Z) * (Y + Z) - gamma - delta) % p
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % p
    return X3, Y3, Z3


def _jadd_affine(p, X1, Y1, Z1, x2, y2):
    # Mixed Jacobian + affine addition; the equal and opposite cases matter:
    # Wycheproof's EdgeCaseShamirMultiplication vectors reach them.
    if not Z1:
        return x2, y2, 1
    z1z1 = Z1 * Z1 % p
    u2 = x2 * z1z1 % p
    s2 = y2 * Z1 * z1z1 % p
    h = (u2 - X1) % p
    r = (s2 - Y1) % p
    if not h:
        if not r:
            return _jdouble(p, X1, Y1, Z1)
        return 0, 1, 0
    hh = h * h % p
    hhh = h * hh % p
    v = X1 * hh % p
    X3 = (r * r - hhh - 2 * v) % p
    Y3 = (r * (v - X3) - Y1 * hhh) % p
    Z3 = Z1 * h % p
    return X3, Y3, Z3


def _odd_multiples(curve, x, y, width):
    """Affine P, 3P, 5P, ... (2^(width-1) - 1)P, normalised with one inversion."""
    p = curve.p
    dx, dy, dz = _jdouble(p, x, y, 1)
    zi = pow(dz, -1, p)
    dx, dy = dx * zi * zi % p, dy * zi * zi * zi % p
    jac = [(x, y, 1)]
    for _ in range((1 << (width - 2)) - 1):
        jac.append(_jadd_affine(p, *jac[-1], dx, dy))
    # Montgomery's trick: one inversion for the whole table.
    prefix = []
    acc = 1
    for _, _, z in jac:
        prefix.append(acc)
        acc = acc * z % p
    inv = pow(acc, -1, p)
    out = [None] * len(jac)
    for i in range(len(jac) - 1, -1, -1):
        X, Y, z = jac[i]
        zi = inv * prefix[i] % p
        inv = inv * z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 * zi % p)
    return out


def _wnaf(k, width):
    """Width-w NAF digits of k, least significant first."""
    full = 1 << width
    half = full >> 1
    mask = full - 1
    digits = []
    while k:
        if k & 1:
            d = k & mask
            if d >= half:
                d -= full
            k -= d
        else:
            d = 0
        digits.append(d)
        k >>= 1
    return digits


_Q_TABLES = {}
# Only stops a stream of rotated keys from growing memory.
_Q_TABLES_MAX = 64


def _q_table(curve, x, y):
    key = (curve.name, x, y)
    table = _Q_TABLES.get(key)
    if table is None:
        if len(_Q_TABLES) >= _Q_TABLES_MAX:
            _Q_TABLES.clear()
        table = _Q_TABLES[key] = _odd_multiples(curve, x, y, _Q_WINDOW)
    return table


def _mul_add(curve, u1, u2, qx, qy):
    """u1*G + u2*Q: Shamir's trick with interleaved wNAF, one shared run of doublings."""
    p = curve.p
    g_tab = curve.g_table()
    q_tab = _q_table(curve, qx, qy)
    n1 = _wnaf(u1, _G_WINDOW)
    n2 = _wnaf(u2, _Q_WINDOW)
    length = max(len(n1), len(n2))
    n1 += [0] * (length - len(n1))
    n2 += [0] * (length - len(n2))
    X, Y, Z = 0, 1, 0
    for i in range(length - 1, -1, -1):
        if Z:
            X, Y, Z = _jdouble(p, X, Y, Z)
        d = n1[i]
        if d:
            x2, y2 = g_tab[d >> 1] if d > 0 else g_tab[(-d) >> 1]
            X, Y, Z = _jadd_affine(p, X, Y, Z, x2, y2 if d > 0 else p - y2)
        d = n2[i]
        if d:
            x2, y2 = q_tab[d >> 1] if d > 0 else q_tab[(-d) >> 1]
            X, Y, Z = _jadd_affine(p, X, Y, Z, x2, y2 if d > 0 else p - y2)
    return X, Y, Z


def ecdsa_verify(curve_name: str, x: int, y: int, hash_name: str, message: bytes, signature: bytes) -> bool:
    """ECDSA verification with a P1363 (fixed-length r || s) signature."""
    try:
        curve = _CURVES.get(curve_name)
        fn, _ = _hash_fn(hash_name)
        if curve is None or fn is None:
            return False
        if not curve.on_curve(x, y):
            return False
        size = curve.size
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != 2 * size:
            return False
        n = curve.n
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        if not (0 < r < n and 0 < s < n):
            return False
        digest = fn(message).digest()
        e = int.from_bytes(digest, "big")
        excess = len(digest) * 8 - n.bit_length()
        if excess > 0:
            e >>= excess
        w = pow(s, -1, n)
        u1 = e * w % n
        u2 = r * w % n
        X, Y, Z = _mul_add(curve, u1, u2, x, y)
        if not Z:
            return False
        p = curve.p
        # x(R) mod n == r without an inversion: X == r'·Z² for r' in {r, r+n} below p.
        z2 = Z * Z % p
        if (r * z2 - X) % p == 0:
            return True
        r2 = r + n
        return r2 < p and (r2 * z2 - X) % p == 0
    except (TypeError, ValueError, OverflowError):
        return False


# ---------------------------------------------------------------------------
# HMAC


def hmac_verify(hash_name: str, key: bytes, message: bytes, tag: bytes, tag_bytes: int | None = None) -> bool:
    """Constant-time HMAC check; ``tag_bytes`` truncates the computed tag (JWS never truncates)."""
    try:
        fn, _ = _hash_fn(hash_name)
        if fn is None:
            return False
        full = hmac.new(key, message, fn).digest()
        expected = full if tag_bytes is None else full[:tag_bytes]
        if tag_bytes is not None and not 0 < tag_bytes <= len(full):
            return False
        return hmac.compare_digest(expected, bytes(tag))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Keys

# alg -> (key kind, hash, scheme)
_ALGS = {
    "RS256": ("RSA", "SHA-256", "pkcs1"),
    "RS384": ("RSA", "SHA-384", "pkcs1"),
    "RS512": ("RSA", "SHA-512", "pkcs1"),
    "PS256": ("RSA", "SHA-256", "pss"),
    "ES256": ("P-256", "SHA-256", "ecdsa"),
    "ES384": ("P-384", "SHA-384", "ecdsa"),
    "HS256": ("oct", "SHA-256", "hmac"),
}
SUPPORTED_ALGORITHMS = tuple(_ALGS)

_RSA_MIN_BITS = 2048
# Bigger moduli only cost CPU at the edge; nobody issues id_tokens with them.
_RSA_MAX_BITS = 8192
_RSA_MAX_E_BITS = 256
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


class RSAKey:
    __slots__ = ("n", "e", "kid", "alg", "size")
    kind = "RSA"

    def __init__(self, n, e, kid=None, alg=None):
        self.n = n
        self.e = e
        self.kid = kid
        self.alg = alg
        self.size = (n.bit_length() + 7) // 8

    def __repr__(self):
        return f"RSAKey(bits={self.n.bit_length()}, kid={self.kid!r}, alg={self.alg!r})"


class ECKey:
    __slots__ = ("curve", "x", "y", "kid", "alg")

    def __init__(self, curve, x, y, kid=None, alg=None):
        self.curve = curve
        self.x = x
        self.y = y
        self.kid = kid
        self.alg = alg

    @property
    def kind(self):
        return self.curve

    def __repr__(self):
        return f"ECKey(curve={self.curve!r}, kid={self.kid!r}, alg={self.alg!r})"


class OctKey:
    __slots__ = ("secret", "kid", "alg")
    kind = "oct"

    def __init__(self, secret, kid=None, alg=None):
        self.secret = secret
        self.kid = kid
        self.alg = alg

    def __repr__(self):
        return f"OctKey(kid={self.kid!r}, alg={self.alg!r})"


# The first primes: a ROCA (CVE-2017-15361) modulus is built from a primorial
# of at least the first 126 of them, so n mod r always lies in the subgroup
# that 65537 generates mod r.
def _small_primes(count):
    primes = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % q for q in primes if q * q <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


_ROCA_TABLE = None


def _roca_table():
    global _ROCA_TABLE
    if _ROCA_TABLE is None:
        table = []
        for r in _small_primes(126):
            if r == 2:
                continue
            group = set()
            g = 1
            while True:
                group.add(g)
                g = g * 65537 % r
                if g == 1:
                    break
            # Primes where 65537 generates everything tell nothing.
            if len(group) < r - 1:
                table.append((r, frozenset(group)))
        _ROCA_TABLE = table
    return _ROCA_TABLE


def _is_roca_modulus(n):
    return all(n % r in group for r, group in _roca_table())


def _rsa_from_jwk(jwk, kid, alg):
    n = _b64url_to_int(jwk.get("n"), "n")
    e = _b64url_to_int(jwk.get("e"), "e")
    bits = n.bit_length()
    if bits < _RSA_MIN_BITS:
        raise JWSError(f"RSA modulus of {bits} bits is too small")
    if bits > _RSA_MAX_BITS:
        raise JWSError(f"RSA modulus of {bits} bits is too large")
    if not n & 1:
        raise JWSError("RSA modulus is even")
    if e < 3 or not e & 1 or e.bit_length() > _RSA_MAX_E_BITS or e >= n:
        raise JWSError("RSA public exponent is not acceptable")
    if _is_roca_modulus(n):
        raise JWSError("RSA modulus has the ROCA weakness (CVE-2017-15361)")
    if alg is not None and alg not in ("RS256", "RS384", "RS512", "PS256"):
        raise JWSError(f"alg {alg} is not usable with an RSA key")
    return RSAKey(n, e, kid, alg)


def _ec_from_jwk(jwk, kid, alg):
    crv = jwk.get("crv")
    curve = _CURVES.get(crv) if crv in ("P-256", "P-384") else None
    if curve is None:
        raise JWSError(f"unsupported curve {crv!r}")
    xb = b64url_decode(jwk.get("x")) if isinstance(jwk.get("x"), str) else None
    yb = b64url_decode(jwk.get("y")) if isinstance(jwk.get("y"), str) else None
    # RFC 7518 6.2.1.2: coordinates are exactly the field size, no shorter.
    if xb is None or yb is None or len(xb) != curve.size or len(yb) != curve.size:
        raise JWSError("EC coordinates are missing or of the wrong length")
    x = int.from_bytes(xb, "big")
    y = int.from_bytes(yb, "big")
    if not curve.on_curve(x, y):
        raise JWSError("EC point is not on the curve")
    expected = "ES256" if curve is _P256 else "ES384"
    if alg is not None and alg != expected:
        raise JWSError(f"alg {alg} is not usable with a {curve.name} key")
    return ECKey(curve.name, x, y, kid, alg)


def _oct_from_jwk(jwk, kid, alg):
    secret = b64url_decode(jwk.get("k")) if isinstance(jwk.get("k"), str) else None
    if not secret:
        raise JWSError("oct key is missing or empty")
    if alg is not None and alg != "HS256":
        raise JWSError(f"alg {alg} is not usable here with an oct key")
    # RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
    if len(secret) < 32:
        raise JWSError("HS256 key is shorter than 256 bits")
    return OctKey(secret, kid, alg)


def key_from_jwk(jwk: dict):
    """Parse one JWK into RSAKey, ECKey or OctKey; raise JWSError if it can't verify JWS."""
    if not isinstance(jwk, dict):
        raise JWSError("JWK is not an object")
    kty = jwk.get("kty")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise JWSError("kid is not a string")
    alg = jwk.get("alg")
    if alg is not None and not isinstance(alg, str):
        raise JWSError("alg is not a string")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise JWSError("key is not for signatures")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise JWSError("key_ops does not allow verify")
    if kty == "RSA":
        if any(m in jwk for m in _PRIVATE_MEMBERS):
            raise JWSError("JWK carries private key material")
        return _rsa_from_jwk(jwk, kid, alg)
    if kty == "EC":
        if "d" in jwk:
            raise JWSError("JWK carries private key material")
        return _ec_from_jwk(jwk, kid, alg)
    if kty == "oct":
        return _oct_from_jwk(jwk, kid, alg)
    raise JWSError(f"unsupported kty {kty!r}")


class KeySet:
    """The provider's public keys that can verify signatures (never symmetric ones)."""

    __slots__ = ("keys",)

    def __init__(self, keys=()):
        self.keys = tuple(keys)

    @classmethod
    def from_jwks(cls, jwks: dict) -> "KeySet":
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise JWSError("JWK Set has no keys list")
        keys = []
        for jwk in jwks["keys"]:
            # One odd key (a new kty, an encryption key) must not take the
            # whole provider down, so unusable keys are skipped, not fatal.
            if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC"):
                continue
            try:
                keys.append(key_from_jwk(jwk))
            except JWSError:
                continue
        # A kid that names more than one usable signing key is ambiguous:
        # which key the provider meant cannot be known, so none of them is
        # used. Only keys this verifier can use count: an OKP, `oct`, P-521
        # or encryption key sharing the kid can never verify anything here,
        # so it must not knock out the one key that can.
        counts = {}
        for key in keys:
            if key.kid is not None:
                counts[key.kid] = counts.get(key.kid, 0) + 1
        return cls(key for key in keys if key.kid is None or counts[key.kid] == 1)

    def __len__(self):
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def __repr__(self):
        return f"KeySet({list(self.keys)!r})"


# ---------------------------------------------------------------------------
# Compact JWS


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise JWSError(f"duplicate member {k!r} in JSON object")
        obj[k] = v
    return obj


def _no_constants(name):
    raise JWSError(f"{name} is not JSON")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _parse_json_object(raw, what):
    try:
        obj = _decoder.decode(raw.decode("utf-8"))
    except JWSError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise JWSError(f"{what} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise JWSError(f"{what} is not a JSON object")
    return obj


def _check_rsa(key, alg_hash, scheme, signing_input, sig):
    if scheme == "pss":
        return rsa_pss_verify(key.n, key.e, alg_hash, alg_hash, 32, signing_input, sig)
    return rsa_pkcs1v15_verify(key.n, key.e, alg_hash, signing_input, sig)


def verify_compact(token: str, keys: KeySet, algorithms, hmac_secret=None) -> tuple[dict, bytes]:
    """Verify a compact JWS; return (header, payload bytes) or raise JWSError.

    ``hmac_secret`` is the only key HS256 ever uses: bytes, or an OctKey from
    ``key_from_jwk`` (whose own alg and kid then also apply).
    """
    if isinstance(token, (bytes, bytearray)):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise JWSError("token is not ASCII") from None
    if not isinstance(token, str):
        raise JWSError("token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("token is not a compact JWS (three parts)")
    h64, p64, s64 = parts
    if not h64 or not s64:
        raise JWSError("token has an empty header or signature")
    header = _parse_json_object(b64url_decode(h64), "header")

    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JWSError("header has no alg")
    if alg.lower() == "none":
        raise JWSError("alg none is never accepted")
    if alg not in _ALGS:
        raise JWSError(f"alg {alg} is not supported")
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    if alg not in algorithms:
        raise JWSError(f"alg {alg} is not allowed here")
    if "crit" in header:
        raise JWSError("crit header names an extension this verifier does not implement")
    if "b64" in header and header["b64"] is not True:
        raise JWSError("unencoded payloads (b64) are not supported")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise JWSError("kid is not a string")

    payload = b64url_decode(p64)
    signature = b64url_decode(s64)
    signing_input = (h64 + "." + p64).encode("ascii")
    kind, alg_hash, scheme = _ALGS[alg]

    if scheme == "hmac":
        secret = hmac_secret
        if isinstance(secret, OctKey):
            if secret.alg is not None and secret.alg != alg:
                raise JWSError("the HMAC key is restricted to another alg")
            if kid is not None and secret.kid is not None and secret.kid != kid:
                raise UnknownKeyError(f"no key with kid {kid!r}")
            secret = secret.secret
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, (bytes, bytearray)) or not secret:
            raise JWSError("HS256 needs the HMAC secret, and none was given")
        if not hmac_verify(alg_hash, bytes(secret), signing_input, signature):
            raise JWSError("signature verification failed")
        return header, payload

    if not isinstance(keys, KeySet):
        raise JWSError("keys is not a KeySet")
    candidates = keys.keys
    if kid is not None:
        candidates = [k for k in candidates if k.kid == kid]
        if not candidates:
            raise UnknownKeyError(f"no key with kid {kid!r}")
    candidates = [k for k in candidates if k.kind == kind and (k.alg is None or k.alg == alg)]
    if not candidates:
        raise JWSError(f"no key usable with {alg}")

    for key in candidates:
        if scheme == "ecdsa":
            ok = ecdsa_verify(key.curve, key.x, key.y, alg_hash, signing_input, signature)
        else:
            ok = _check_rsa(key, alg_hash, scheme, signing_input, signature)
        if ok:
            return header, payload
    raise JWSError("signature verification failed")


def verify(token: str, keys: KeySet, algorithms, hmac_secret=None) -> tuple[dict, dict]:
    """Return (header, payload) of a verified compact JWS whose payload is a JSON object, or raise JWSError."""
    header, payload = verify_compact(token, keys, algorithms, hmac_secret)
    # Parsed only now, so unauthenticated JSON never reaches the parser.
    return header, _parse_json_object(payload, "payload")


def sign_hs256(header: dict, payload: dict, key: bytes) -> str:
    """Compact HS256 JWS (for tests and fixtures)."""
    header = dict(header)
    if header.setdefault("alg", "HS256") != "HS256":
        raise JWSError("sign_hs256 only signs HS256")
    if not key:
        raise JWSError("empty HMAC key")
    h64 = b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    p64 = b64url_encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    signing_input = (h64 + "." + p64).encode("ascii")
    tag = hmac.new(bytes(key), signing_input, hashlib.sha256).digest()
    return h64 + "." + p64 + "." + b64url_encode(tag)
