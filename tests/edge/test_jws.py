"""edge_runtime.jws: strict compact JWS verification.

Tokens are minted with the `cryptography` package (tests only) so that every
algorithm is checked against an independent implementation.
"""

import ast
import hashlib
import hmac
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from edge_runtime import jws
from edge_runtime.jws import JWSError, KeySet, UnknownKeyError, b64url_decode, b64url_encode, key_from_jwk, verify
from tests.edge.import_scan import scan

ALL = list(jws.SUPPORTED_ALGORITHMS)
SECRET = b"0123456789abcdef0123456789abcdef-hs256-secret"
CLAIMS = {"sub": "user-1", "iss": "https://idp.example/", "aud": "client"}


def _int_b64(value, length=None):
    length = length or (value.bit_length() + 7) // 8
    return b64url_encode(value.to_bytes(length, "big"))


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key2():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def p256_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def p384_key():
    return ec.generate_private_key(ec.SECP384R1())


def rsa_jwk(key, kid="rsa1", **extra):
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": _int_b64(numbers.n), "e": _int_b64(numbers.e), **extra}


def ec_jwk(key, kid="ec1", **extra):
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
    return {
        "kty": "EC",
        "kid": kid,
        "crv": crv,
        "x": _int_b64(numbers.x, size),
        "y": _int_b64(numbers.y, size),
        **extra,
    }


def _encode_part(obj):
    if isinstance(obj, (bytes, bytearray)):
        return b64url_encode(bytes(obj))
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def sign(alg, key, header=None, payload=None):
    """A compact JWS signed by `cryptography` (or hmac for HS256)."""
    header = {"alg": alg, **(header or {})}
    signing_input = f"{_encode_part(header)}.{_encode_part(CLAIMS if payload is None else payload)}"
    data = signing_input.encode()
    hash_alg = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    if alg.startswith("RS"):
        sig = key.sign(data, padding.PKCS1v15(), hash_alg)
    elif alg.startswith("PS"):
        sig = key.sign(data, padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size), hash_alg)
    elif alg.startswith("ES"):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_alg)))
        size = (key.curve.key_size + 7) // 8
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif alg == "HS256":
        sig = hmac.new(key, data, hashlib.sha256).digest()
    else:
        raise AssertionError(alg)
    return f"{signing_input}.{b64url_encode(sig)}"


@pytest.fixture(scope="module")
def keyset(rsa_key, p256_key, p384_key):
    return KeySet.from_jwks({"keys": [rsa_jwk(rsa_key), ec_jwk(p256_key), ec_jwk(p384_key, kid="ec384")]})


# ---------------------------------------------------------------------------
# base64url


def test_base64url_round_trips_every_length():
    for length in range(0, 70):
        data = bytes(random.Random(length).randbytes(length))
        encoded = b64url_encode(data)
        assert "=" not in encoded
        assert b64url_decode(encoded) == data


@pytest.mark.parametrize(
    "text",
    ["Zm9v=", "Zg==", "Zg=", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "Zm9\u00e9", "A", "AAAAA", "Zh", "Zm9=", "AB"],
    ids=[
        "padding",
        "double-padding",
        "single-padding",
        "plus",
        "slash",
        "space",
        "newline",
        "non-ascii",
        "length-1-mod-4",
        "length-5",
        "non-canonical-2-chars",
        "padding-in-3",
        "non-canonical-AB",
    ],
)
def test_base64url_decode_refuses_non_canonical_text(text):
    with pytest.raises(JWSError):
        b64url_decode(text)


def test_base64url_decode_refuses_non_strings():
    with pytest.raises(JWSError):
        b64url_decode(b"Zm9v")


# ---------------------------------------------------------------------------
# Valid tokens


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256"])
def test_it_accepts_valid_rsa_tokens(alg, rsa_key, keyset):
    header, payload = verify(sign(alg, rsa_key, {"kid": "rsa1"}), keyset, [alg])
    assert header["alg"] == alg
    assert payload == CLAIMS


def test_it_accepts_a_valid_es256_token(p256_key, keyset):
    assert verify(sign("ES256", p256_key, {"kid": "ec1"}), keyset, ["ES256"])[1] == CLAIMS


def test_it_accepts_a_valid_es384_token(p384_key, keyset):
    assert verify(sign("ES384", p384_key, {"kid": "ec384"}), keyset, ["ES384"])[1] == CLAIMS


def test_it_accepts_a_valid_hs256_token_with_the_hmac_secret():
    token = sign("HS256", SECRET, {"kid": "anything"})
    assert verify(token, KeySet(), ["HS256"], hmac_secret=SECRET)[1] == CLAIMS


def test_sign_hs256_makes_tokens_that_verify():
    token = jws.sign_hs256({"typ": "JWT"}, CLAIMS, SECRET)
    header, payload = verify(token, KeySet(), ["HS256"], hmac_secret=SECRET)
    assert header == {"typ": "JWT", "alg": "HS256"}
    assert payload == CLAIMS


def test_it_accepts_many_es256_and_es384_signatures_from_cryptography(keyset, p256_key, p384_key):
    # Many random nonces exercise the scalar multiplication far more than one token does.
    for i in range(40):
        assert verify(sign("ES256", p256_key, {"kid": "ec1"}, {"i": i}), keyset, ["ES256"])[1] == {"i": i}
        assert verify(sign("ES384", p384_key, {"kid": "ec384"}, {"i": i}), keyset, ["ES384"])[1] == {"i": i}


def test_without_kid_it_tries_every_key_of_the_right_type(rsa_key, rsa_key2):
    keys = KeySet.from_jwks({"keys": [rsa_jwk(rsa_key, kid="a"), rsa_jwk(rsa_key2, kid="b")]})
    token = sign("RS256", rsa_key2)
    assert verify(token, keys, ["RS256"])[1] == CLAIMS


def test_a_kid_shared_by_several_keys_is_ambiguous_and_refused(rsa_key, rsa_key2):
    keys = KeySet.from_jwks({"keys": [rsa_jwk(rsa_key, kid="same"), rsa_jwk(rsa_key2, kid="same")]})
    for key in (rsa_key, rsa_key2):
        with pytest.raises(JWSError):
            verify(sign("RS256", key, {"kid": "same"}), keys, ["RS256"])


def test_an_encryption_key_sharing_a_kid_does_not_make_it_ambiguous(rsa_key, rsa_key2):
    enc = dict(rsa_jwk(rsa_key2, kid="same"), use="enc")
    keys = KeySet.from_jwks({"keys": [rsa_jwk(rsa_key, kid="same"), enc]})
    assert verify(sign("RS256", rsa_key, {"kid": "same"}), keys, ["RS256"])[1] == CLAIMS


# ---------------------------------------------------------------------------
# Algorithm confusion


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_it_refuses_alg_none_with_and_without_a_signature(alg, keyset):
    unsigned = f"{_encode_part({'alg': alg})}.{_encode_part(CLAIMS)}"
    for token in (unsigned + ".", unsigned + "." + b64url_encode(b"x" * 32)):
        with pytest.raises(JWSError):
            verify(token, keyset, ALL + ["none", alg], hmac_secret=SECRET)


def test_it_refuses_hs256_signed_with_the_rsa_public_key_as_secret(rsa_key, keyset):
    # The classic key-confusion forgery: HMAC keyed with bytes the attacker knows.
    public = rsa_key.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    n_bytes = public.public_numbers().n.to_bytes(256, "big")
    jwk_text = json.dumps(rsa_jwk(rsa_key)).encode()
    for secret in (pem, der, n_bytes, jwk_text):
        token = sign("HS256", secret, {"kid": "rsa1"})
        with pytest.raises(JWSError):
            verify(token, keyset, ALL)
        with pytest.raises(JWSError):
            verify(token, keyset, ["RS256"])


def test_an_hs256_token_is_refused_when_hs256_is_not_allowed():
    with pytest.raises(JWSError, match="not allowed"):
        verify(sign("HS256", SECRET), KeySet(), ["RS256"], hmac_secret=SECRET)


def test_it_refuses_an_es256_token_when_the_kid_names_an_rsa_key(p256_key, rsa_key, keyset):
    token = sign("ES256", p256_key, {"kid": "rsa1"})
    with pytest.raises(JWSError) as caught:
        verify(token, keyset, ALL)
    assert not isinstance(caught.value, UnknownKeyError)


def test_it_refuses_an_rs256_token_when_the_kid_names_an_ec_key(rsa_key, keyset):
    with pytest.raises(JWSError):
        verify(sign("RS256", rsa_key, {"kid": "ec1"}), keyset, ALL)


def test_es256_only_uses_p256_keys_and_es384_only_p384_keys(p256_key, p384_key):
    only_384 = KeySet.from_jwks({"keys": [ec_jwk(p384_key, kid="k")]})
    only_256 = KeySet.from_jwks({"keys": [ec_jwk(p256_key, kid="k")]})
    with pytest.raises(JWSError):
        verify(sign("ES256", p256_key, {"kid": "k"}), only_384, ALL)
    with pytest.raises(JWSError):
        verify(sign("ES384", p384_key, {"kid": "k"}), only_256, ALL)


def test_a_key_restricted_to_rs256_cannot_verify_ps256(rsa_key):
    keys = KeySet.from_jwks({"keys": [rsa_jwk(rsa_key, alg="RS256")]})
    assert verify(sign("RS256", rsa_key), keys, ALL)[1] == CLAIMS
    with pytest.raises(JWSError):
        verify(sign("PS256", rsa_key), keys, ALL)


def test_an_alg_outside_the_allowed_list_is_refused(rsa_key, keyset):
    with pytest.raises(JWSError, match="not allowed"):
        verify(sign("RS512", rsa_key, {"kid": "rsa1"}), keyset, ["RS256"])


def test_an_unsupported_alg_is_refused_even_if_allowed(rsa_key, keyset):
    token = sign("RS256", rsa_key, {"kid": "rsa1"}).split(".")
    token[0] = _encode_part({"alg": "PS512", "kid": "rsa1"})
    with pytest.raises(JWSError, match="not supported"):
        verify(".".join(token), keyset, ["PS512"])


def test_hs256_never_uses_an_oct_key_from_a_key_set():
    jwks = {"keys": [{"kty": "oct", "kid": "h", "k": b64url_encode(SECRET), "alg": "HS256"}]}
    keys = KeySet.from_jwks(jwks)
    assert len(keys) == 0
    with pytest.raises(JWSError):
        verify(sign("HS256", SECRET, {"kid": "h"}), keys, ["HS256"])


def test_hs256_with_an_oct_key_respects_its_alg_and_kid():
    key = key_from_jwk({"kty": "oct", "kid": "h", "k": b64url_encode(SECRET), "alg": "HS256"})
    assert verify(sign("HS256", SECRET, {"kid": "h"}), KeySet(), ["HS256"], hmac_secret=key)[1] == CLAIMS
    with pytest.raises(UnknownKeyError):
        verify(sign("HS256", SECRET, {"kid": "other"}), KeySet(), ["HS256"], hmac_secret=key)


def test_it_ignores_an_embedded_jwk_and_uses_only_its_own_keys(p256_key, keyset):
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = sign("ES256", attacker, {"kid": "ec1", "jwk": ec_jwk(attacker, kid="ec1")})
    with pytest.raises(JWSError, match="verification failed"):
        verify(token, keyset, ALL)


# ---------------------------------------------------------------------------
# Keys and kids


def test_an_unknown_kid_raises_unknown_key_error(rsa_key, keyset):
    with pytest.raises(UnknownKeyError):
        verify(sign("RS256", rsa_key, {"kid": "rotated-away"}), keyset, ["RS256"])


def test_no_usable_key_without_kid_is_not_an_unknown_key(rsa_key):
    with pytest.raises(JWSError) as caught:
        verify(sign("RS256", rsa_key), KeySet(), ["RS256"])
    assert not isinstance(caught.value, UnknownKeyError)


def test_a_kid_that_is_not_a_string_is_refused(rsa_key, keyset):
    with pytest.raises(JWSError):
        verify(sign("RS256", rsa_key, {"kid": 1}), keyset, ["RS256"])


def test_from_jwks_skips_keys_it_cannot_use(rsa_key, p256_key):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    good = rsa_jwk(rsa_key, kid="good")
    jwks = {
        "keys": [
            good,
            rsa_jwk(rsa_key, kid="enc", use="enc"),
            rsa_jwk(rsa_key, kid="ops", key_ops=["encrypt"]),
            rsa_jwk(small, kid="small"),
            {**good, "kid": "even-e", "e": _int_b64(65536)},
            {**good, "kid": "e-one", "e": "AQ"},
            {**good, "kid": "private", "d": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "okp"},
            {**ec_jwk(p256_key), "kid": "p521", "crv": "P-521"},
            {**ec_jwk(p256_key), "kid": "short-x", "x": ec_jwk(p256_key)["x"][:-2]},
            {"kty": "oct", "k": b64url_encode(SECRET), "kid": "oct"},
            "not a key",
        ]
    }
    assert [k.kid for k in KeySet.from_jwks(jwks)] == ["good"]


def _secp256k1_jwk(**extra):
    key = ec.generate_private_key(ec.SECP256K1())
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "secp256k1", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32), **extra}


_OKP = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


@pytest.mark.parametrize("sharer", ["okp", "oct", "p521", "secp256k1", "small-rsa", "encryption"])
@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_kid_shared_with_a_key_the_verifier_skips_keeps_the_usable_key(sharer, alg, rsa_key, p256_key):
    # Providers publish Ed25519 or encryption keys beside their signing key,
    # sometimes under the same kid; that must not knock out the signing key.
    signer, good = (rsa_key, rsa_jwk(rsa_key, kid="k1")) if alg == "RS256" else (p256_key, ec_jwk(p256_key, kid="k1"))
    other = {
        "okp": dict(_OKP),
        "oct": {"kty": "oct", "k": b64url_encode(SECRET)},
        "p521": {**ec_jwk(p256_key), "crv": "P-521"},
        "secp256k1": _secp256k1_jwk(),
        "small-rsa": rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "encryption": dict(rsa_jwk(rsa_key), use="enc", alg="RSA-OAEP-256"),
    }[sharer]
    other["kid"] = "k1"
    for order in ([good, other], [other, good]):
        keys = KeySet.from_jwks({"keys": order})
        assert [k.kid for k in keys] == ["k1"]
        assert verify(sign(alg, signer, {"kid": "k1"}), keys, [alg])[1] == CLAIMS


def _conformance_set(rsa_keys, ec_keys):
    """Shaped like the OpenID conformance suite's kid-less server JWKS: signing
    keys without kid or alg, a secp256k1 and an Ed25519 key, and encryption keys."""
    keys = [rsa_jwk(k, kid=None, use="sig") for k in rsa_keys] + [ec_jwk(k, kid=None, use="sig") for k in ec_keys]
    keys += [_secp256k1_jwk(use="sig"), dict(_OKP, use="sig")]
    keys += [dict(rsa_jwk(rsa_keys[0], kid=None), use="enc", alg="RSA-OAEP-256"), dict(ec_jwk(ec_keys[0], kid=None), use="enc", alg="ECDH-ES")]
    for key in keys:
        key.pop("kid", None)
    return {"keys": keys}


def test_kid_absent_single_jwks_the_one_fitting_key_verifies(rsa_key, p256_key):
    # oidcc-client-kid-absent-single-jwks (rp-id_token-kid-absent-single-jwks):
    # the single key of the token's type verifies it and the token is accepted.
    keys = KeySet.from_jwks(_conformance_set([rsa_key], [p256_key]))
    assert len(keys) == 2
    assert verify(sign("RS256", rsa_key), keys, ["RS256", "ES256"])[1] == CLAIMS
    assert verify(sign("ES256", p256_key), keys, ["RS256", "ES256"])[1] == CLAIMS


def test_kid_absent_multiple_jwks_each_fitting_key_is_tried(rsa_key, rsa_key2, p256_key):
    # oidcc-client-test-kid-absent-multiple-jwks (rp-id_token-kid-absent-
    # multiple-jwks): the suite lets the RP either refuse or try every key it
    # could be; we try each, as every one is the provider's own signing key.
    third = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec2 = ec.generate_private_key(ec.SECP256R1())
    keys = KeySet.from_jwks(_conformance_set([rsa_key, rsa_key2, third], [p256_key, ec2]))
    for signer in (rsa_key, rsa_key2, third):
        assert verify(sign("RS256", signer), keys, ["RS256"])[1] == CLAIMS
    assert verify(sign("ES256", ec2), keys, ["ES256"])[1] == CLAIMS
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(JWSError, match="verification failed"):
        verify(sign("RS256", stranger), keys, ["RS256"])


def test_key_from_jwk_raises_for_an_invalid_key(rsa_key, p256_key):
    good_ec = ec_jwk(p256_key)
    x = int.from_bytes(b64url_decode(good_ec["x"]), "big")
    y = int.from_bytes(b64url_decode(good_ec["y"]), "big")
    off_curve = {**good_ec, "y": _int_b64((y + 1) % jws._P256.p, 32)}
    assert key_from_jwk(good_ec).x == x
    for bad in (
        off_curve,
        {**good_ec, "alg": "ES384"},
        {**good_ec, "crv": "P-384"},
        {**rsa_jwk(rsa_key), "e": _int_b64(4)},
        {**rsa_jwk(rsa_key), "alg": "ES256"},
        {**rsa_jwk(rsa_key), "n": rsa_jwk(rsa_key)["n"] + "="},
        {"kty": "oct", "k": b64url_encode(b"short")},
        {"kty": "oct", "k": b64url_encode(SECRET), "alg": "A256GCM"},
        {"kty": "RSA"},
        [],
    ):
        with pytest.raises(JWSError):
            key_from_jwk(bad)


def test_from_jwks_refuses_something_that_is_not_a_key_set():
    for bad in (None, [], {"keys": {}}, {"nokeys": []}):
        with pytest.raises(JWSError):
            KeySet.from_jwks(bad)


# ---------------------------------------------------------------------------
# Token structure


def test_crit_is_refused(rsa_key, keyset):
    for crit in (["exp"], [], ["b64"], "exp"):
        with pytest.raises(JWSError, match="crit"):
            verify(sign("RS256", rsa_key, {"kid": "rsa1", "crit": crit, "exp": 1}), keyset, ["RS256"])


def test_an_unencoded_payload_is_refused(rsa_key, keyset):
    with pytest.raises(JWSError):
        verify(sign("RS256", rsa_key, {"kid": "rsa1", "b64": False}), keyset, ["RS256"])


@pytest.mark.parametrize("part", [0, 1, 2])
def test_base64_padding_in_any_part_is_refused(part, rsa_key, keyset):
    pieces = sign("RS256", rsa_key, {"kid": "rsa1"}, {"sub": "ab"}).split(".")
    pieces[part] += "=" * (-len(pieces[part]) % 4 or 4)
    with pytest.raises(JWSError):
        verify(".".join(pieces), keyset, ["RS256"])


@pytest.mark.parametrize("count", [1, 2, 4, 5])
def test_a_token_without_exactly_three_parts_is_refused(count, rsa_key, keyset):
    pieces = sign("RS256", rsa_key, {"kid": "rsa1"}).split(".")
    token = ".".join((pieces + pieces)[:count])
    with pytest.raises(JWSError):
        verify(token, keyset, ["RS256"])


def test_duplicate_members_in_the_header_are_refused(rsa_key, keyset):
    header = b'{"alg":"RS256","kid":"rsa1","alg":"RS256"}'
    data = f"{b64url_encode(header)}.{_encode_part(CLAIMS)}".encode()
    token = f"{data.decode()}.{b64url_encode(rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))}"
    with pytest.raises(JWSError, match="duplicate"):
        verify(token, keyset, ["RS256"])


def test_duplicate_members_in_the_payload_are_refused(rsa_key, keyset):
    payload = b'{"sub":"user-1","nested":{"sub":"a","sub":"b"}}'
    with pytest.raises(JWSError, match="duplicate"):
        verify(sign("RS256", rsa_key, {"kid": "rsa1"}, payload), keyset, ["RS256"])


def test_a_payload_that_is_not_a_json_object_is_refused_by_verify(rsa_key, keyset):
    for payload in (b"foo", b"[1]", b'"x"', b'{"a":NaN}', b"\xff\xfe"):
        token = sign("RS256", rsa_key, {"kid": "rsa1"}, payload)
        with pytest.raises(JWSError):
            verify(token, keyset, ["RS256"])
    # verify_compact is for non-JWT payloads and hands back the bytes.
    assert jws.verify_compact(sign("RS256", rsa_key, {"kid": "rsa1"}, b"foo"), keyset, ["RS256"])[1] == b"foo"


def test_a_header_that_is_not_a_json_object_is_refused(keyset):
    for header in (b"[]", b'"RS256"', b"{", b'{"alg":"RS256"} x'):
        with pytest.raises(JWSError):
            verify(f"{b64url_encode(header)}.{_encode_part(CLAIMS)}.AAAA", keyset, ALL)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "ES384", "HS256"])
def test_a_tampered_payload_is_refused(alg, rsa_key, p256_key, p384_key, keyset):
    key = {"RS256": rsa_key, "PS256": rsa_key, "ES256": p256_key, "ES384": p384_key, "HS256": SECRET}[alg]
    token = sign(alg, key)
    h, _, s = token.split(".")
    forged = f"{h}.{_encode_part({**CLAIMS, 'sub': 'admin'})}.{s}"
    with pytest.raises(JWSError, match="verification failed"):
        verify(forged, keyset, [alg], hmac_secret=SECRET)
    assert verify(token, keyset, [alg], hmac_secret=SECRET)[1] == CLAIMS


@pytest.mark.parametrize("alg", ["RS256", "ES256", "HS256"])
def test_a_tampered_or_truncated_signature_is_refused(alg, rsa_key, p256_key, keyset):
    key = {"RS256": rsa_key, "ES256": p256_key, "HS256": SECRET}[alg]
    h, p, s = sign(alg, key).split(".")
    raw = b64url_decode(s)
    for bad in (bytes([raw[0] ^ 1]) + raw[1:], raw[:-1], raw + b"\x00", b"\x00" + raw, b""):
        with pytest.raises(JWSError):
            verify(f"{h}.{p}.{b64url_encode(bad)}", keyset, [alg], hmac_secret=SECRET)


def test_garbage_only_ever_raises_jws_error(rsa_key, p256_key, keyset):
    rng = random.Random(7)
    good = [sign("RS256", rsa_key, {"kid": "rsa1"}), sign("ES256", p256_key, {"kid": "ec1"}), sign("HS256", SECRET)]
    inputs = [None, 1, b"\xff", "", ".", "..", "...", "a.b.c", "\x00.\x00.\x00", "e30.e30.e30", "W10.e30.AA"]
    alphabet = "AZaz09-_.=+/ \u00e9{}"
    for _ in range(300):
        base = list(rng.choice(good))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(base))
            action = rng.randrange(3)
            if action == 0:
                base[i] = rng.choice(alphabet)
            elif action == 1:
                del base[i]
            else:
                base.insert(i, rng.choice(alphabet))
        inputs.append("".join(base))
    deep = b64url_encode(b"[" * 100000)
    inputs.append(f"{deep}.{deep}.AAAA")
    for token in inputs:
        try:
            verify(token, keyset, ALL, hmac_secret=SECRET)
        except JWSError:
            pass


# ---------------------------------------------------------------------------
# Low-level functions never raise on bad input


def test_low_level_verifiers_return_false_instead_of_raising(rsa_key, p256_key):
    n = rsa_key.public_key().public_numbers().n
    numbers = p256_key.public_key().public_numbers()
    assert jws.rsa_pkcs1v15_verify(n, 65537, "SHA-256", b"m", b"\x00" * 256) is False
    assert jws.rsa_pkcs1v15_verify(n, 65537, "MD5", b"m", b"\x00" * 256) is False
    assert jws.rsa_pkcs1v15_verify(n, 65537, "SHA-256", b"m", n.to_bytes(256, "big")) is False
    assert jws.rsa_pkcs1v15_verify(n, 65537, "SHA-256", b"m", "text") is False
    assert jws.rsa_pss_verify(n, 65537, "SHA-256", "SHA-256", 32, b"m", b"\x01" * 256) is False
    assert jws.rsa_pss_verify(n, 65537, "SHA-256", "SHA-256", 300, b"m", b"\x01" * 256) is False
    assert jws.ecdsa_verify("P-256", numbers.x, numbers.y, "SHA-256", b"m", b"\x01" * 64) is False
    assert jws.ecdsa_verify("P-256", numbers.x, numbers.y + 1, "SHA-256", b"m", b"\x01" * 64) is False
    assert jws.ecdsa_verify("P-521", numbers.x, numbers.y, "SHA-256", b"m", b"\x01" * 64) is False
    assert jws.ecdsa_verify("P-256", numbers.x, numbers.y, "SHA-256", b"m", None) is False
    assert jws.hmac_verify("SHA-256", SECRET, b"m", b"") is False
    assert jws.hmac_verify("SHA-256", SECRET, b"m", None) is False


def test_ecdsa_rejects_r_and_s_outside_one_to_n_minus_one(p256_key):
    numbers = p256_key.public_key().public_numbers()
    n = jws._P256.n
    for r, s in ((0, 1), (1, 0), (n, 1), (1, n), (n + 1, 1)):
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert jws.ecdsa_verify("P-256", numbers.x, numbers.y, "SHA-256", b"m", sig) is False


# ---------------------------------------------------------------------------
# Packaging rules


def test_the_module_imports_only_the_standard_library(monkeypatch):
    # Parsed in a child interpreter (see tests/edge/import_scan.py): ast.parse
    # in this process fails now and then on CPython 3.11.7. A broken parser
    # here must not matter.
    monkeypatch.setattr(ast, "parse", _broken_parse)
    imports, stdlib = scan([jws.__file__])
    rows = imports[jws.__file__]
    assert all(level == 0 for _, _, level in rows), "jws.py imports nothing from the package either"
    names = {name for _, name, _ in rows}
    assert names and names <= stdlib, names - stdlib


def _broken_parse(*args, **kwargs):
    raise SystemError("AST constructor recursion depth mismatch (before=40, after=39)")


def test_importing_the_module_builds_no_curve_tables():
    code = (
        "import edge_runtime.jws as j; "
        "assert j._P256._g_table is None and j._P384._g_table is None and j._ROCA_TABLE is None; "
        "import sys; assert 'cryptography' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
