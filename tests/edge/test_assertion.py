"""The identity assertion: ES256 from the standard library, its key set, and
when the edge adds it. Cross-checked with PyJWT (a maintained verifier a
backend would use; test-only here)."""

import json
import time

import jwt
import pytest

from edge_runtime import assertion, config, handler, jws, tokens
from tests.edge.factories import config_doc
from tests.edge.test_config_signin import ASSERTION
from tests.edge.test_handler import Context, StaticStore, event


@pytest.fixture
def cfg(monkeypatch):
    site = config.parse(config_doc(identity_assertion=ASSERTION, access={"groups_claim": "groups", "groups": ["x"]}))
    monkeypatch.setattr(handler, "_store", StaticStore(site))
    return site


def session_cookie(site, **claims):
    now = time.time()
    session = {"sub": "u1", "email": "ann@client.example", "email_verified": True, "site": site.site_id,
               "iat": int(now), "exp": int(now) + 3600, **claims}
    session.update(assertion.session_fields(site, session, now))
    return session, f"{handler.SESSION_COOKIE}={tokens.sign(site, tokens.SESSION, session)}"


def verify_with_pyjwt(site, token):
    key = jwt.PyJWK(assertion.public_jwks(site)["keys"][0]).key
    return jwt.decode(token, key, algorithms=["ES256"], audience=site.site_id, issuer="gatehouse")


def test_a_minted_assertion_verifies_with_pyjwt_and_the_edges_own_verifier(cfg):
    token, exp = assertion.mint(cfg, {"sub": "u1", "email": "ann@client.example", "groups": ["x"]}, time.time())
    claims = verify_with_pyjwt(cfg, token)
    assert claims["sub"] == "u1" and claims["email"] == "ann@client.example" and claims["groups"] == ["x"]
    assert claims["exp"] - claims["iat"] == ASSERTION["lifetime_seconds"] == exp - claims["iat"]
    header, _ = jws.verify(token, jws.KeySet.from_jwks(assertion.public_jwks(cfg)), ["ES256"])
    assert header == {"alg": "ES256", "kid": "ia1", "typ": "JWT"}


def test_signatures_differ_each_time_and_all_verify(cfg):
    tokens_ = {assertion.mint(cfg, {"sub": "u1"}, 1_800_000_000)[0] for _ in range(5)}
    assert len(tokens_) == 5
    for token in tokens_:
        jwt.decode(token, jwt.PyJWK(assertion.public_jwks(cfg)["keys"][0]).key, algorithms=["ES256"],
                   audience=cfg.site_id, options={"verify_exp": False, "verify_iat": False})


def test_the_key_set_is_published_without_a_session(cfg):
    response = handler.handler(event("/_gatehouse/jwks.json", navigate=False), Context())
    assert response["status"] == "200"
    [key] = json.loads(response["body"])["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["kid"] == "ia1" and "d" not in key


def test_no_key_set_without_an_assertion(monkeypatch):
    monkeypatch.setattr(handler, "_store", StaticStore(config.parse(config_doc())))
    assert handler.handler(event("/_gatehouse/jwks.json"), Context())["status"] == "404"


def test_a_request_under_a_prefix_carries_the_assertion_minted_at_sign_in(cfg):
    session, cookie = session_cookie(cfg)
    request = handler.handler(event("/api/orders", cookies=[cookie]), Context())
    assert request["headers"][handler.ASSERTION_HEADER][0]["value"] == session["ia"]
    assert verify_with_pyjwt(cfg, session["ia"])["sub"] == "u1"


def test_a_request_outside_the_prefixes_carries_none_and_a_viewers_own_header_is_dropped(cfg):
    _, cookie = session_cookie(cfg)
    forged = {handler.ASSERTION_HEADER: [{"key": "X-Gatehouse-Assertion", "value": "forged"}]}
    request = handler.handler(event("/index.html", cookies=[cookie], headers=forged), Context())
    assert handler.ASSERTION_HEADER not in request["headers"]
    request = handler.handler(event("/api/x", cookies=[cookie], headers=forged), Context())
    assert request["headers"][handler.ASSERTION_HEADER][0]["value"] != "forged"


def test_a_public_path_drops_a_viewers_own_header(cfg):
    forged = {handler.ASSERTION_HEADER: [{"key": "X-Gatehouse-Assertion", "value": "forged"}]}
    request = handler.handler(event("/favicon.ico", headers=forged), Context())
    assert handler.ASSERTION_HEADER not in request["headers"]


def test_an_assertion_near_its_end_is_replaced_once_per_container(cfg, monkeypatch):
    session, cookie = session_cookie(cfg)
    later = time.time() + ASSERTION["lifetime_seconds"]
    monkeypatch.setattr(handler.time, "time", lambda: later)
    first = handler.handler(event("/api/a", cookies=[cookie]), Context())["headers"][handler.ASSERTION_HEADER][0]["value"]
    assert first != session["ia"]
    claims = jwt.decode(first, jwt.PyJWK(assertion.public_jwks(cfg)["keys"][0]).key, algorithms=["ES256"],
                        audience=cfg.site_id, options={"verify_exp": False, "verify_iat": False})
    assert claims["iat"] == int(later)
    calls = []
    monkeypatch.setattr(assertion, "mint", lambda *a: calls.append(a) or ("x", 0))
    second = handler.handler(event("/api/b", cookies=[cookie]), Context())["headers"][handler.ASSERTION_HEADER][0]["value"]
    assert second == first and calls == []


def test_a_new_signing_key_replaces_the_assertion_kept_in_the_session(cfg, monkeypatch):
    session, cookie = session_cookie(cfg)
    rotated = config.parse(config_doc(identity_assertion={**ASSERTION, "kid": "ia2"}))
    monkeypatch.setattr(handler, "_store", StaticStore(rotated))
    value = handler.handler(event("/api/a", cookies=[cookie]), Context())["headers"][handler.ASSERTION_HEADER][0]["value"]
    assert jwt.get_unverified_header(value)["kid"] == "ia2"


def test_an_email_code_session_carries_via(cfg):
    token, _ = assertion.mint(cfg, {"sub": "email:ann@client.example", "email": "ann@client.example", "via": "email_code"}, time.time())
    assert verify_with_pyjwt(cfg, token)["via"] == "email_code"
