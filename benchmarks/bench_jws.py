"""edge_runtime.jws benchmark: prints medians measured on this machine.

    python benchmarks/bench_jws.py

Each figure is the median over repeated timed runs of a whole ``jws.verify``
(split, strict base64url, header/payload JSON, key selection, signature):
RS256 2048-bit (target <= 400 us), ES256 (target <= 5 ms), ES384 and HS256,
next to a no-op function call in the same run as the floor. ES figures are
after the first verification, which builds the curve's G table once per
process and the key's table once per key (also printed).
"""

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402  (benchmark only: makes keys and tokens)
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402

from edge_runtime import jws  # noqa: E402

CLAIMS = {"iss": "https://idp.example/", "sub": "user-1", "aud": "client", "exp": 2000000000, "nonce": "n" * 22}
SECRET = b"an-hs256-client-secret-of-32-bytes-or-more"


def median_us(fn, *, number, repeat=15):
    """Median per-call time in microseconds, in this thread's CPU time (a busy machine does not count)."""
    samples = []
    for _ in range(repeat):
        start = time.thread_time()
        for _ in range(number):
            fn()
        samples.append((time.thread_time() - start) / number * 1e6)
    return statistics.median(samples)


def _b64json(obj):
    return jws.b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def _int_b64(value, length=None):
    return jws.b64url_encode(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def rs256_case():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    keys = jws.KeySet.from_jwks(
        {"keys": [{"kty": "RSA", "kid": "r", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}]}
    )
    signing_input = f"{_b64json({'alg': 'RS256', 'kid': 'r'})}.{_b64json(CLAIMS)}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{jws.b64url_encode(sig)}", keys


def ec_case(curve, alg, crv, hash_alg, size):
    key = ec.generate_private_key(curve)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "kid": "e", "crv": crv, "x": _int_b64(numbers.x, size), "y": _int_b64(numbers.y, size)}
    keys = jws.KeySet.from_jwks({"keys": [jwk]})
    signing_input = f"{_b64json({'alg': alg, 'kid': 'e'})}.{_b64json(CLAIMS)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hash_alg)))
    return f"{signing_input}.{jws.b64url_encode(r.to_bytes(size, 'big') + s.to_bytes(size, 'big'))}", keys


def main():
    def noop():
        return None

    rs_token, rs_keys = rs256_case()
    es256_token, es256_keys = ec_case(ec.SECP256R1(), "ES256", "P-256", hashes.SHA256(), 32)
    es384_token, es384_keys = ec_case(ec.SECP384R1(), "ES384", "P-384", hashes.SHA384(), 48)
    hs_token = jws.sign_hs256({"kid": "h"}, CLAIMS, SECRET)
    empty = jws.KeySet()

    first = {}
    for name, token, keys, alg in (
        ("ES256", es256_token, es256_keys, "ES256"),
        ("ES384", es384_token, es384_keys, "ES384"),
    ):
        start = time.perf_counter()
        jws.verify(token, keys, [alg])
        first[name] = (time.perf_counter() - start) * 1e6

    floor = median_us(noop, number=100000)
    # (figure, median us, bound us or None)
    results = [
        ("HS256 verify", median_us(lambda: jws.verify(hs_token, empty, ["HS256"], hmac_secret=SECRET), number=2000), None),
        ("RS256 2048-bit verify", median_us(lambda: jws.verify(rs_token, rs_keys, ["RS256"]), number=200), 400),
        ("ES256 verify", median_us(lambda: jws.verify(es256_token, es256_keys, ["ES256"]), number=20), 5000),
        ("ES384 verify", median_us(lambda: jws.verify(es384_token, es384_keys, ["ES384"]), number=10), None),
    ]  # fmt: skip
    print(f"Python {sys.version.split()[0]}; medians of 15 runs, thread CPU time")
    print(f"  {'figure':<40} {'median':>12}   {'same-run baseline':>30} {'ratio':>9}   {'bound':<12} verdict")
    missed = 0
    for label, value, bound in results:
        verdict = "" if bound is None else ("ok" if value <= bound else "MISSED")
        missed += verdict == "MISSED"
        limit = "" if bound is None else f"<= {bound} us"
        print(f"  {label:<40} {value:>9.2f} us   {'no-op call ' + format(floor, '.3f') + ' us':>30} {value / floor:>8.0f}x   {limit:<12} {verdict}")
    for name, value in first.items():
        print(f"  {name + ' first verify (builds tables)':<40} {value:>9.2f} us   (once per process, then per key)")
    print(f"\n{missed} bound(s) missed" if missed else "\nevery bound held")


if __name__ == "__main__":
    main()
