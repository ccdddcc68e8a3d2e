"""edge_runtime.jws against Project Wycheproof's test vectors.

Every ``valid`` and ``invalid`` verdict must hold. The vectors live outside
the repository (``../shared/testvectors/wycheproof/``). Without that folder
each test function skips with one visible reason, except in CI (``CI`` set
and not false): there a missing vector file is an error, so a checkout
without ``../shared`` can never pass as if the vectors had run.

``acceptable`` verdicts: the only ones in these files are the RSA PKCS#1 v1.5
``MissingNull`` cases (a DigestInfo without the NULL parameters). We reject
them -- the verifier compares against the one canonical encoding -- and the
tests assert exactly that, so a change of behaviour shows up here.
"""

import json
import os
from pathlib import Path

import pytest

from edge_runtime import jws
from edge_runtime.jws import JWSError, KeySet, key_from_jwk

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testvectors" / "wycheproof"
MISSING = f"Wycheproof vectors not found at {VECTORS}"


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(autouse=True)
def _vectors_required(request):
    # The stand-in case of a missing vector file reaches here only in CI
    # (elsewhere it is marked skip): there it is an error, never a pass.
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("case", ...) is None:
        pytest.fail(f"{MISSING}; under CI the vectors must be there (../shared beside the checkout)", pytrace=False)

# Every algorithm this verifier implements; the harness allows them all so
# that only key/alg binding and the signature decide.
ALL_ALGS = list(jws.SUPPORTED_ALGORITHMS)

_SAME_TOKEN_AS_357 = (
    "same token as tcId 357 (valid) with the opposite verdict; at most one side can hold and "
    "357 is the canonical base64url spelling, so we follow 357"
)
_LAX_BASE64 = (
    "valid only for a base64 decoder that drops stray characters; RFC 7515 base64url is strict "
    "and we refuse the stray character rather than loosen the decoder"
)
_PS384 = "PS384 is not implemented (not one of the id_token algs the config allows)"
_PS512 = "PS512 is not implemented (not one of the id_token algs the config allows)"
_ES512 = "ES512 / P-521 is not implemented (not one of the id_token algs the config allows)"
_HS384 = "HS384 is not implemented (only HS256, with the client secret)"
_HS512 = "HS512 is not implemented (only HS256, with the client secret)"

# Only `valid` verdicts for algorithms we do not implement are skipped: the
# `invalid` ones for those algorithms run and are refused.
JWS_SKIPS = {
    367: _SAME_TOKEN_AS_357,
    370: _SAME_TOKEN_AS_357,
    372: _LAX_BASE64,
    373: _LAX_BASE64,
    320: _PS384, 321: _PS384, 322: _PS384, 323: _PS384,
    325: _PS512, 326: _PS512, 327: _PS512, 328: _PS512,
    346: _PS384 + " (RFC 7520 figure 20)",
    350: _PS384 + " (RFC 7520 figure 20)",
    347: _ES512 + " (RFC 7520 figure 27)",
    351: _ES512 + " (RFC 7520 figure 27)",
}  # fmt: skip

JWK_SKIPS = {
    14: _HS384,
    15: _HS512,
}


def _load(name):
    path = VECTORS / name
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _params(name, skips=None):
    """One pytest param per test case, with the tcId in the test id."""
    doc = _load(name)
    if doc is None:
        marks = () if _in_ci() else pytest.mark.skip(reason=MISSING)
        return [pytest.param(None, None, id=f"missing-{name}", marks=marks)]
    params = []
    for group in doc["testGroups"]:
        for case in group["tests"]:
            tc = case["tcId"]
            marks = ()
            if skips and tc in skips:
                marks = pytest.mark.skip(reason=f"tcId {tc}: {skips[tc]}")
            params.append(pytest.param(group, case, id=f"tc{tc}-{case['result']}-{case['comment'][:40]}", marks=marks))
    return params


def _expect(case, accepted, detail=""):
    result = case["result"]
    tc = case["tcId"]
    if result == "valid":
        assert accepted, f"tcId {tc} ({case['comment']}) is valid but was refused {detail}"
    elif result == "invalid":
        assert not accepted, f"tcId {tc} ({case['comment']}) is invalid but was accepted {detail}"
    else:  # pragma: no cover - each file's acceptable cases are handled by its own test
        raise AssertionError(f"tcId {tc}: unexpected verdict {result}")


# ---------------------------------------------------------------------------
# JOSE: whole tokens with their keys


def _token_kid(token):
    try:
        header = json.loads(jws.b64url_decode(token.split(".")[0]))
        return header.get("kid") if isinstance(header, dict) else None
    except (JWSError, ValueError):
        return None


def _hmac_secret_for(token, jwk_list):
    """The API takes a single HMAC secret: pick the set's one usable oct key for the token's kid.

    Several matches are ambiguous and give none, so the token is refused.
    """
    if any(isinstance(jwk, dict) and jwk.get("kty") in ("RSA", "EC") for jwk in jwk_list):
        # A provider's published key set is never a source of HMAC secrets
        # (the edge keys HS256 with the client secret from its config): a set
        # mixing symmetric and asymmetric keys gives no secret at all.
        return None
    kid = _token_kid(token)
    if kid is not None and sum(isinstance(j, dict) and j.get("kid") == kid for j in jwk_list) > 1:
        return None  # a kid naming two keys is ambiguous, usable or not
    usable = []
    for jwk in jwk_list:
        if isinstance(jwk, dict) and jwk.get("kty") == "oct":
            try:
                usable.append(key_from_jwk(jwk))
            except JWSError:
                pass
    if kid is not None:
        usable = [k for k in usable if k.kid is None or k.kid == kid]
    return usable[0] if len(usable) == 1 else None


def _run_token(jwks, token):
    keys = KeySet.from_jwks(jwks)
    secret = _hmac_secret_for(token, jwks["keys"]) if isinstance(token, str) else None
    try:
        jws.verify_compact(token, keys, ALL_ALGS, hmac_secret=secret)
    except JWSError as exc:
        return False, f"({type(exc).__name__}: {exc})"
    return True, ""


@pytest.mark.parametrize(("group", "case"), _params("json_web_signature_test.json", JWS_SKIPS))
def test_json_web_signature_vectors(group, case):
    # Payloads here are raw bytes ("foo"), not JWT claims, so this checks
    # verify_compact; verify() adds only the payload-is-an-object rule.
    jwk = group.get("public") or group["private"]
    accepted, detail = _run_token({"keys": [jwk]}, case["jws"])
    _expect(case, accepted, detail)


@pytest.mark.parametrize(("group", "case"), _params("json_web_key_test.json", JWK_SKIPS))
def test_json_web_key_vectors(group, case):
    jwks = group.get("public") or group["private"]
    accepted, detail = _run_token(jwks, case["jws"])
    _expect(case, accepted, detail)


# ---------------------------------------------------------------------------
# Primitives


def _hex_int(value):
    return int(value, 16) if value else 0


@pytest.mark.parametrize(
    ("group", "case"),
    _params("rsa_signature_2048_sha256_test.json")
    + _params("rsa_signature_3072_sha256_test.json")
    + _params("rsa_signature_4096_sha256_test.json"),
)
def test_rsa_pkcs1v15_vectors(group, case):
    key = group["publicKey"]
    ok = jws.rsa_pkcs1v15_verify(
        _hex_int(key["modulus"]),
        _hex_int(key["publicExponent"]),
        group["sha"],
        bytes.fromhex(case["msg"]),
        bytes.fromhex(case["sig"]),
    )
    if case["result"] == "acceptable":
        assert case["flags"] == ["MissingNull"], case
        assert ok is False, f"tcId {case['tcId']}: a DigestInfo without NULL is refused by design"
        return
    _expect(case, ok)


@pytest.mark.parametrize(("group", "case"), _params("rsa_pss_2048_sha256_mgf1_32_test.json"))
def test_rsa_pss_vectors(group, case):
    key = group["publicKey"]
    ok = jws.rsa_pss_verify(
        _hex_int(key["modulus"]),
        _hex_int(key["publicExponent"]),
        group["sha"],
        group["mgfSha"],
        group["sLen"],
        bytes.fromhex(case["msg"]),
        bytes.fromhex(case["sig"]),
    )
    _expect(case, ok)


_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}


@pytest.mark.parametrize(
    ("group", "case"),
    _params("ecdsa_secp256r1_sha256_p1363_test.json") + _params("ecdsa_secp384r1_sha384_p1363_test.json"),
)
def test_ecdsa_p1363_vectors(group, case):
    key = group["publicKey"]
    ok = jws.ecdsa_verify(
        _CURVE_NAMES[key["curve"]],
        _hex_int(key["wx"]),
        _hex_int(key["wy"]),
        group["sha"],
        bytes.fromhex(case["msg"]),
        bytes.fromhex(case["sig"]),
    )
    _expect(case, ok)


@pytest.mark.parametrize(("group", "case"), _params("hmac_sha256_test.json"))
def test_hmac_sha256_vectors(group, case):
    # Truncated tags are compared against the same truncation of the full
    # HMAC, as the vectors' tagSize says; JWS itself never truncates.
    ok = jws.hmac_verify(
        "SHA-256",
        bytes.fromhex(case["key"]),
        bytes.fromhex(case["msg"]),
        bytes.fromhex(case["tag"]),
        group["tagSize"] // 8,
    )
    _expect(case, ok)
