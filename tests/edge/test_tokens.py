"""Tokens the edge signs for itself: session, login transaction and state."""

import base64
import hashlib
import hmac
import json

import pytest

from edge_runtime import tokens
from edge_runtime.tokens import SESSION, STATE, TRANSACTION
from tests.edge.factories import KEY_A, KEY_B, SITE_ID, site_config

NOW = 1_800_000_000
PURPOSES = (SESSION, TRANSACTION, STATE)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def claims(**extra):
    body = {"sub": "user-1", "site": SITE_ID, "exp": NOW + 600}
    body.update(extra)
    return body


def parts(token):
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def resign(cfg, purpose, header, payload, *, kid=None):
    """Sign arbitrary header/payload JSON with the real derived key: what an
    attacker could do only if the per-purpose key leaked."""
    secret = cfg.session_keys[kid or cfg.current_kid]
    key = hmac.new(secret, ("gatehouse/" + purpose).encode(), hashlib.sha256).digest()
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


@pytest.fixture
def cfg():
    return site_config()


# --- round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_signed_token_verifies_for_its_purpose(cfg, purpose):
    body = claims(email="ann@client.example", groups=["a", "b"], name="Ann \u00c5")
    token = tokens.sign(cfg, purpose, body)
    assert tokens.verify(cfg, purpose, token, NOW) == body


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_token_is_a_compact_hs256_jws_with_kid_and_purpose(cfg, purpose):
    token = tokens.sign(cfg, purpose, claims())
    assert token.isascii() and token.count(".") == 2
    assert "=" not in token
    header, payload, _ = parts(token)
    assert header == {"alg": "HS256", "kid": "s1", "typ": purpose}
    assert payload == claims()


def test_each_purpose_has_its_own_typ():
    assert len(set(PURPOSES)) == 3


def test_the_signature_is_hmac_sha256_under_a_key_derived_per_purpose(cfg):
    token = tokens.sign(cfg, SESSION, claims())
    header, payload, signature = token.split(".")
    site_key = base64.urlsafe_b64decode(KEY_A + "=")
    derived = hmac.new(site_key, b"gatehouse/" + SESSION.encode(), hashlib.sha256).digest()
    assert signature == b64(hmac.new(derived, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    # the site key itself is never the signing key
    assert signature != b64(hmac.new(site_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())


# --- expiry and site ------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_an_expired_token_is_refused(cfg, purpose):
    token = tokens.sign(cfg, purpose, claims(exp=NOW))
    assert tokens.verify(cfg, purpose, token, NOW) is None
    assert tokens.verify(cfg, purpose, token, NOW - 1) is not None
    assert tokens.verify(cfg, purpose, token, NOW + 3600) is None


@pytest.mark.parametrize("exp", [None, "1900000000", True, [NOW + 60], {"t": 1}])
def test_a_token_without_a_numeric_exp_is_refused(cfg, exp):
    body = claims()
    if exp is None:
        del body["exp"]
    else:
        body["exp"] = exp
    assert tokens.verify(cfg, SESSION, tokens.sign(cfg, SESSION, body), NOW) is None


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_token_of_another_site_is_refused_even_with_the_same_keys(cfg, purpose):
    other = site_config(site={"id": "other-site"})
    assert other.session_keys == cfg.session_keys
    token = tokens.sign(other, purpose, claims(site="other-site"))
    assert tokens.verify(cfg, purpose, token, NOW) is None
    assert tokens.verify(other, purpose, token, NOW) is not None


@pytest.mark.parametrize("site", [None, "", SITE_ID.upper(), [SITE_ID]])
def test_a_token_without_this_sites_id_is_refused(cfg, site):
    body = claims(site=site)
    assert tokens.verify(cfg, SESSION, tokens.sign(cfg, SESSION, body), NOW) is None


# --- purpose confusion ------------------------------------------------------------------


@pytest.mark.parametrize("signed_as", PURPOSES)
@pytest.mark.parametrize("used_as", PURPOSES)
def test_a_token_of_one_purpose_never_verifies_as_another(cfg, signed_as, used_as):
    token = tokens.sign(cfg, signed_as, claims())
    expected = claims() if signed_as == used_as else None
    assert tokens.verify(cfg, used_as, token, NOW) == expected


@pytest.mark.parametrize("signed_as", [TRANSACTION, STATE])
def test_a_token_with_its_header_rewritten_to_session_is_refused(cfg, signed_as):
    token = tokens.sign(cfg, signed_as, claims())
    _, payload, signature = token.split(".")
    session_header = tokens.sign(cfg, SESSION, claims()).split(".")[0]
    assert parts(session_header + ".e30.x")[0]["typ"] == SESSION
    forged = f"{session_header}.{payload}.{signature}"
    assert tokens.verify(cfg, SESSION, forged, NOW) is None


@pytest.mark.parametrize("signed_as", [TRANSACTION, STATE])
def test_a_session_typ_header_signed_with_another_purposes_key_is_refused(cfg, signed_as):
    forged = resign(cfg, signed_as, {"alg": "HS256", "kid": "s1", "typ": SESSION}, claims())
    assert tokens.verify(cfg, SESSION, forged, NOW) is None


def test_a_session_token_is_not_accepted_as_state_even_after_it_was_cached(cfg):
    token = tokens.sign(cfg, SESSION, claims())
    assert tokens.verify(cfg, SESSION, token, NOW) is not None
    assert tokens.verify(cfg, STATE, token, NOW) is None
    assert tokens.verify(cfg, TRANSACTION, token, NOW) is None


# --- tampering ----------------------------------------------------------------------------


def test_a_tampered_payload_is_refused(cfg):
    token = tokens.sign(cfg, SESSION, claims(sub="user-1"))
    header, _, signature = token.split(".")
    payload = b64(json.dumps(claims(sub="admin"), separators=(",", ":"), sort_keys=True).encode())
    assert tokens.verify(cfg, SESSION, f"{header}.{payload}.{signature}", NOW) is None


def test_a_payload_with_a_later_expiry_is_refused(cfg):
    token = tokens.sign(cfg, SESSION, claims(exp=NOW - 1))
    header, _, signature = token.split(".")
    payload = b64(json.dumps(claims(exp=NOW + 10**6), separators=(",", ":"), sort_keys=True).encode())
    assert tokens.verify(cfg, SESSION, f"{header}.{payload}.{signature}", NOW) is None


def flip(segment, index):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    char = segment[index]
    return segment[:index] + alphabet[(alphabet.index(char) + 1) % 64] + segment[index + 1 :]


@pytest.mark.parametrize("part", [0, 1, 2])
@pytest.mark.parametrize("where", [0, -1, "middle"])
def test_changing_any_character_of_any_part_is_refused(cfg, part, where):
    token = tokens.sign(cfg, SESSION, claims())
    segments = token.split(".")
    index = len(segments[part]) // 2 if where == "middle" else where
    segments[part] = flip(segments[part], index)
    assert tokens.verify(cfg, SESSION, ".".join(segments), NOW) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s + "=",
        lambda s: s + "A",
        lambda s: s[:-1],
        lambda s: s.upper(),
        lambda s: "",
        lambda s: s + " ",
        lambda s: base64.urlsafe_b64encode(unb64(s)).decode(),  # padded
        lambda s: base64.b64encode(unb64(s)).decode().rstrip("="),  # standard alphabet
        lambda s: s.encode().hex(),
    ],
)
def test_a_mangled_signature_is_refused(cfg, mangle):
    token = tokens.sign(cfg, SESSION, claims())
    header, payload, signature = token.split(".")
    mangled = mangle(signature)
    if mangled == signature:
        pytest.skip("this signature has no character the mangling changes")
    assert tokens.verify(cfg, SESSION, f"{header}.{payload}.{mangled}", NOW) is None


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "s1", "typ": SESSION},
        {"alg": "None", "kid": "s1", "typ": SESSION},
        {"alg": "HS512", "kid": "s1", "typ": SESSION},
        {"alg": "RS256", "kid": "s1", "typ": SESSION},
        {"kid": "s1", "typ": SESSION},
        {"alg": "HS256", "kid": "s9", "typ": SESSION},
        {"alg": "HS256", "typ": SESSION},
        {"alg": "HS256", "kid": "s1"},
        {"alg": "HS256", "kid": "s1", "typ": SESSION, "crit": ["exp"]},
        {"alg": "HS256", "kid": "s1", "typ": SESSION, "jku": "https://evil.example/jwks"},
    ],
)
def test_a_header_we_would_not_write_is_refused(cfg, header):
    token = tokens.sign(cfg, SESSION, claims())
    _, payload, signature = token.split(".")
    forged_header = b64(json.dumps(header).encode())
    assert tokens.verify(cfg, SESSION, f"{forged_header}.{payload}.{signature}", NOW) is None
    assert tokens.verify(cfg, SESSION, f"{forged_header}.{payload}.", NOW) is None


def test_the_same_header_in_another_json_spelling_is_refused(cfg):
    # Only the byte-exact header we write is accepted, so a re-spelled one is
    # refused even when it is validly signed.
    header = {"typ": SESSION, "kid": "s1", "alg": "HS256"}
    forged = resign(cfg, SESSION, header, claims())
    assert tokens.verify(cfg, SESSION, forged, NOW) is None


def test_alg_none_with_an_empty_signature_is_refused(cfg):
    header = b64(json.dumps({"alg": "none", "typ": SESSION}).encode())
    payload = b64(json.dumps(claims()).encode())
    assert tokens.verify(cfg, SESSION, f"{header}.{payload}.", NOW) is None
    assert tokens.verify(cfg, SESSION, f"{header}.{payload}", NOW) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "...",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "=.=.=",
        "e30.e30.e30",
        "\x00.\x00.\x00",
        "a.b.c\n",
    ],
)
def test_malformed_tokens_are_refused(cfg, token):
    for purpose in PURPOSES:
        assert tokens.verify(cfg, purpose, token, NOW) is None


def test_a_valid_token_with_extra_dots_is_refused(cfg):
    token = tokens.sign(cfg, SESSION, claims())
    header, payload, signature = token.split(".")
    for forged in (token + ".", "." + token, f"{header}.{payload}..{signature}", f"{header}..{payload}.{signature}", token + ".x"):
        assert tokens.verify(cfg, SESSION, forged, NOW) is None


def test_a_token_with_non_ascii_is_refused(cfg):
    token = tokens.sign(cfg, SESSION, claims())
    for forged in (token + "\u00e9", "\u00e9" + token, token.replace(".", "\u2024", 1), token[:-1] + "\uff21"):
        assert tokens.verify(cfg, SESSION, forged, NOW) is None


def test_a_5000_character_token_is_refused_without_work(cfg):
    big = tokens.sign(cfg, SESSION, claims(pad="x" * 5000))
    assert len(big) > 5000
    assert tokens.verify(cfg, SESSION, big, NOW) is None
    assert tokens.verify(cfg, SESSION, "a" * 2500 + "." + "b" * 2498 + ".c", NOW) is None


@pytest.mark.parametrize("token", [None, 7, b"a.b.c", ["a.b.c"], {"a": 1}, ("a", "b")])
@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_token_that_is_not_a_string_is_refused_without_raising(cfg, purpose, token):
    assert tokens.verify(cfg, purpose, token, NOW) is None


@pytest.mark.parametrize("payload", [b"[]", b"null", b"7", b'"s"', b"{", b"\xff\xfe", b""])
def test_a_validly_signed_payload_that_is_not_an_object_is_refused(cfg, payload):
    header = tokens.sign(cfg, SESSION, claims()).split(".")[0]
    _, key = tokens._keys(cfg, SESSION)[header]
    signing_input = f"{header}.{b64(payload)}"
    mac = b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
    assert tokens.verify(cfg, SESSION, f"{signing_input}.{mac}", NOW) is None


# --- key rotation ----------------------------------------------------------------------


def test_rotation_keeps_old_tokens_and_sign_everyone_out_drops_them():
    old = site_config(session={"current_kid": "s1", "keys": {"s1": KEY_A}})
    token = tokens.sign(old, SESSION, claims())
    assert parts(token)[0]["kid"] == "s1"

    rotated = site_config(session={"current_kid": "s2", "keys": {"s1": KEY_A, "s2": KEY_B}})
    assert tokens.verify(rotated, SESSION, token, NOW) == claims()
    fresh = tokens.sign(rotated, SESSION, claims())
    assert parts(fresh)[0]["kid"] == "s2"
    assert tokens.verify(rotated, SESSION, fresh, NOW) == claims()
    # the old config never knew s2
    assert tokens.verify(old, SESSION, fresh, NOW) is None

    signed_out = site_config(session={"current_kid": "s2", "keys": {"s2": KEY_B}})
    assert tokens.verify(signed_out, SESSION, token, NOW) is None
    assert tokens.verify(signed_out, SESSION, fresh, NOW) == claims()


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_token_signed_under_a_kid_with_another_key_is_refused(purpose):
    # Same kid, new secret: a re-keyed s1 must not accept the old s1's tokens.
    token = tokens.sign(site_config(session={"current_kid": "s1", "keys": {"s1": KEY_A}}), purpose, claims())
    rekeyed = site_config(session={"current_kid": "s1", "keys": {"s1": KEY_B}})
    assert tokens.verify(rekeyed, purpose, token, NOW) is None


def test_a_kid_swapped_to_another_valid_key_is_refused():
    cfg = site_config(session={"current_kid": "s2", "keys": {"s1": KEY_A, "s2": KEY_B}})
    token = tokens.sign(cfg, SESSION, claims())
    _, payload, signature = token.split(".")
    s1_header = b64(json.dumps({"alg": "HS256", "kid": "s1", "typ": SESSION}, separators=(",", ":"), sort_keys=True).encode())
    assert tokens.verify(cfg, SESSION, f"{s1_header}.{payload}.{signature}", NOW) is None


# --- the verified-session cache ----------------------------------------------------------


def test_the_session_cache_never_lets_an_expired_token_through(cfg):
    token = tokens.sign(cfg, SESSION, claims(exp=NOW + 10))
    assert tokens.verify(cfg, SESSION, token, NOW) is not None
    assert token in cfg.derived["session-cache"]
    assert tokens.verify(cfg, SESSION, token, NOW + 9) is not None
    assert tokens.verify(cfg, SESSION, token, NOW + 10) is None
    assert tokens.verify(cfg, SESSION, token, NOW + 10**6) is None


def test_the_session_cache_is_per_config_object():
    first = site_config(session={"current_kid": "s1", "keys": {"s1": KEY_A}})
    token = tokens.sign(first, SESSION, claims())
    assert tokens.verify(first, SESSION, token, NOW) is not None
    # "sign everyone out": a new config object, even of a site whose old one
    # had this token cached, checks the token afresh
    signed_out = site_config(session={"current_kid": "s2", "keys": {"s2": KEY_B}})
    assert tokens.verify(signed_out, SESSION, token, NOW) is None
    assert "session-cache" not in signed_out.derived or token not in signed_out.derived["session-cache"]
    other_site = site_config(site={"id": "other-site"}, session={"current_kid": "s1", "keys": {"s1": KEY_A}})
    assert tokens.verify(other_site, SESSION, token, NOW) is None


def test_a_refused_token_is_not_cached(cfg):
    token = tokens.sign(cfg, SESSION, claims(exp=NOW - 1))
    assert tokens.verify(cfg, SESSION, token, NOW) is None
    assert token not in cfg.derived.get("session-cache", {})
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert tokens.verify(cfg, SESSION, forged, NOW) is None
    assert forged not in cfg.derived.get("session-cache", {})


def test_only_sessions_are_cached(cfg):
    for purpose in (TRANSACTION, STATE):
        token = tokens.sign(cfg, purpose, claims())
        assert tokens.verify(cfg, purpose, token, NOW) is not None
        assert token not in cfg.derived.get("session-cache", {})


def test_the_session_cache_stays_bounded(cfg, monkeypatch):
    monkeypatch.setattr(tokens, "_VERIFIED_CACHE_SIZE", 8)
    for i in range(50):
        token = tokens.sign(cfg, SESSION, claims(n=i))
        assert tokens.verify(cfg, SESSION, token, NOW) == claims(n=i)
        assert len(cfg.derived["session-cache"]) <= 8
    # an entry evicted from the cache still verifies the slow way
    first = tokens.sign(cfg, SESSION, claims(n=0))
    assert tokens.verify(cfg, SESSION, first, NOW) == claims(n=0)



@pytest.mark.parametrize("purpose", [SESSION, TRANSACTION, STATE])
def test_it_never_signs_with_another_key_than_the_current_kid(purpose):
    cfg = site_config(session={"current_kid": "s1", "keys": {"s1": KEY_A, "s2": KEY_B}})
    cfg.current_kid = "gone"  # e.g. a config object built or changed without validate()
    with pytest.raises(ValueError, match="current_kid"):
        tokens.sign(cfg, purpose, {"site": SITE_ID, "exp": 2_000_000_000})
