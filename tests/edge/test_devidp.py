"""devidp is a real OpenID Connect provider: driven here the way a relying
party would, through its login form in Chromium and its endpoints over plain
HTTP, with the id_token checked against its JWKS by PyJWT."""

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from playwright.sync_api import expect

from devidp.redirects import is_dev_callback, is_dev_console_callback, is_dev_post_logout
from tests.fixtures.browser import screenshot

SCOPES = "openid email profile"


# --- a relying party's side, by hand --------------------------------------


class CallbackCatcher:
    """An http.server on 127.0.0.1 that records what the provider sends back."""

    def __init__(self):
        self.requests = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                catcher.requests.append((url.path, dict(urllib.parse.parse_qsl(url.query))))
                body = f"<!doctype html><title>caught</title><h1>Caught {url.path}</h1>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = f"{self.origin}/_gatehouse/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def last(self, path="/_gatehouse/callback"):
        return [query for seen, query in self.requests if seen == path][-1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def catcher():
    catcher = CallbackCatcher()
    yield catcher
    catcher.close()


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(idp, redirect_uri, *, client_id=None, challenge=None, method="S256", state="s", nonce="n"):
    params = {
        "response_type": "code",
        "client_id": client_id or idp.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "nonce": nonce,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
        if method:
            params["code_challenge_method"] = method
    return idp.discovery["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)


def sign_in(page, username, password="demo-password"):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def http(url, *, data=None, headers=None):
    """(status, parsed JSON body) without raising on 4xx."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def basic_auth(client_id, client_secret):
    pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(client_secret)}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def exchange(idp, code, redirect_uri, verifier, *, client_id=None, secret=True):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    headers = {}
    if secret:
        headers = basic_auth(client_id or idp.client_id, idp.client_secret)
    else:
        data["client_id"] = client_id
    return http(idp.discovery["token_endpoint"], data=data, headers=headers)


def verify_id_token(idp, token, *, audience=None, nonce="n"):
    jwks = http(idp.discovery["jwks_uri"])[1]
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=audience or idp.client_id,
        issuer=idp.issuer,
        options={"require": ["iss", "aud", "exp", "iat", "sub"]},
    )
    assert claims["nonce"] == nonce
    return claims


def userinfo(idp, access_token):
    return http(idp.discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})


def sign_in_for_code(idp, page, catcher, username, *, client_id=None, state="s", nonce="n"):
    """Browser part of the flow; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    page.goto(authorize_url(idp, catcher.redirect_uri, client_id=client_id, challenge=challenge, state=state, nonce=nonce))
    sign_in(page, username)
    page.wait_for_url(catcher.redirect_uri + "?*")
    query = catcher.last()
    assert query["state"] == state
    return query["code"], verifier


# --- discovery and keys ----------------------------------------------------


def test_discovery_describes_a_code_flow_provider_with_pkce_s256(idp):
    d = idp.discovery
    assert d["issuer"] == f"http://localhost:{idp.port}/o"
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"):
        assert d[name].startswith(idp.issuer + "/"), name
    assert d["response_types_supported"] == ["code"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in d["id_token_signing_alg_values_supported"]
    assert {"client_secret_basic", "client_secret_post", "none"} <= set(d["token_endpoint_auth_methods_supported"])
    assert {"openid", "email", "profile"} <= set(d["scopes_supported"])
    assert {"sub", "email", "email_verified", "groups"} <= set(d["claims_supported"])


def test_discovery_names_the_same_issuer_whatever_host_was_asked(idp):
    status, d = http(f"http://127.0.0.1:{idp.port}/o/.well-known/openid-configuration")
    assert status == 200
    assert d["issuer"] == idp.issuer
    assert d["token_endpoint"] == idp.discovery["token_endpoint"]


def test_jwks_publishes_one_rsa_2048_signing_key(idp):
    status, jwks = http(idp.discovery["jwks_uri"])
    assert status == 200
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256" and key["kid"]
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256
    assert "d" not in key


# --- the authorization-code flow --------------------------------------------


def test_a_user_signs_in_through_the_form_and_the_code_becomes_verified_tokens(idp, page, catcher):
    verifier, challenge = pkce_pair()
    page.goto(authorize_url(idp, catcher.redirect_uri, challenge=challenge, state="st-1", nonce="nonce-1"))
    assert page.url.startswith(f"http://localhost:{idp.port}/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "devidp-login")
    sign_in(page, "ann")
    page.wait_for_url(catcher.redirect_uri + "?*")  # no consent page for the seeded client
    query = catcher.last()
    assert query["state"] == "st-1"

    status, tokens = exchange(idp, query["code"], catcher.redirect_uri, verifier)
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer"
    claims = verify_id_token(idp, tokens["id_token"], nonce="nonce-1")
    assert claims["email"] == "ann@client.example"
    assert claims["email_verified"] is True
    assert claims["groups"] == ["demo-viewers"]
    assert claims["preferred_username"] == "ann"

    status, info = userinfo(idp, tokens["access_token"])
    assert status == 200, info
    assert info["sub"] == claims["sub"]
    assert info["email"] == "ann@client.example"
    assert info["email_verified"] is True
    assert info["groups"] == ["demo-viewers"]

    log = idp.log()
    assert "GET /o/authorize/?… 302" in log
    for secret in (query["code"], idp.client_secret, tokens["access_token"], "nonce-1", "st-1"):
        assert secret not in log


def test_a_code_is_good_once_and_only_with_its_verifier(idp, page, catcher):
    code, verifier = sign_in_for_code(idp, page, catcher, "bob")
    assert exchange(idp, code, catcher.redirect_uri, None)[0] == 400
    status, body = exchange(idp, code, catcher.redirect_uri, pkce_pair()[0])
    assert status == 400 and body["error"] == "invalid_grant"
    # Failed attempts above do not use up the code; the right verifier works once.
    assert exchange(idp, code, catcher.redirect_uri, verifier)[0] == 200
    assert exchange(idp, code, catcher.redirect_uri, verifier)[0] == 400


def test_the_token_endpoint_refuses_a_wrong_client_secret(idp, page, catcher):
    code, verifier = sign_in_for_code(idp, page, catcher, "bob")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": catcher.redirect_uri, "code_verifier": verifier}
    status, body = http(idp.discovery["token_endpoint"], data=data, headers=basic_auth(idp.client_id, "wrong"))
    assert status == 401 and body["error"] == "invalid_client"


@pytest.mark.parametrize(
    "challenge, method",
    [(None, None), ("a" * 43, "plain"), ("a" * 43, None)],
    ids=["no-challenge", "plain", "method-missing-means-plain"],
)
def test_an_authorization_request_without_pkce_s256_is_refused(idp, page, catcher, challenge, method):
    page.goto(authorize_url(idp, catcher.redirect_uri, challenge=challenge, method=method, state="st-2"))
    sign_in(page, "bob")
    page.wait_for_url(catcher.redirect_uri + "?*")
    query = catcher.last()
    assert query["error"] == "invalid_request"
    assert query["state"] == "st-2"
    assert "code" not in query


def test_the_public_client_exchanges_a_code_with_the_verifier_alone(idp, page, catcher):
    code, verifier = sign_in_for_code(idp, page, catcher, "ann", client_id=idp.public_client_id)
    status, tokens = exchange(idp, code, catcher.redirect_uri, verifier, client_id=idp.public_client_id, secret=False)
    assert status == 200, tokens
    claims = verify_id_token(idp, tokens["id_token"], audience=idp.public_client_id)
    assert claims["email"] == "ann@client.example"


def test_an_unverified_address_is_reported_as_such(idp, page, catcher):
    code, verifier = sign_in_for_code(idp, page, catcher, "uma")
    status, tokens = exchange(idp, code, catcher.redirect_uri, verifier)
    claims = verify_id_token(idp, tokens["id_token"])
    assert claims["email"] == "uma@client.example"
    assert claims["email_verified"] is False
    assert claims["groups"] == []


def test_a_wrong_password_stays_on_the_form(idp, page, catcher):
    page.goto(authorize_url(idp, catcher.redirect_uri, challenge=pkce_pair()[1]))
    sign_in(page, "ann", password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    assert page.url.startswith(f"http://localhost:{idp.port}/login/")
    assert catcher.requests == []


def test_a_redirect_uri_outside_the_dev_rule_is_refused_at_the_provider(idp, page):
    page.goto(authorize_url(idp, "http://evil.example/_gatehouse/callback", challenge=pkce_pair()[1]))
    sign_in(page, "ann")
    expect(page.get_by_text("Mismatching redirect URI")).to_be_visible()
    assert page.url.startswith(f"http://localhost:{idp.port}/o/authorize/")


# --- userinfo-only claims ---------------------------------------------------


def test_with_claims_in_userinfo_only_the_id_token_lacks_email_and_groups(idp_userinfo_only, page, catcher):
    idp = idp_userinfo_only
    code, verifier = sign_in_for_code(idp, page, catcher, "ann")
    status, tokens = exchange(idp, code, catcher.redirect_uri, verifier)
    assert status == 200, tokens
    claims = verify_id_token(idp, tokens["id_token"])
    assert not {"email", "email_verified", "groups"} & set(claims)
    status, info = userinfo(idp, tokens["access_token"])
    assert status == 200
    assert info["sub"] == claims["sub"]
    assert info["email"] == "ann@client.example"
    assert info["email_verified"] is True
    assert info["groups"] == ["demo-viewers"]


# --- sign-out ---------------------------------------------------------------


def test_rp_initiated_logout_ends_the_session_and_returns_to_the_site(idp, page, catcher):
    sign_in_for_code(idp, page, catcher, "ann")
    signed_out = f"{catcher.origin}/_gatehouse/signed-out"
    query = urllib.parse.urlencode({"client_id": idp.client_id, "post_logout_redirect_uri": signed_out, "state": "bye"})
    page.goto(f"{idp.discovery['end_session_endpoint']}?{query}")
    # Without an id_token_hint the spec says ask; the first button signs out.
    screenshot(page, "devidp-logout-confirm")
    page.get_by_role("button").first.click()
    page.wait_for_url(signed_out + "?*")
    assert catcher.last("/_gatehouse/signed-out") == {"state": "bye"}

    page.goto(authorize_url(idp, catcher.redirect_uri, challenge=pkce_pair()[1]))
    assert page.url.startswith(f"http://localhost:{idp.port}/login/"), "the provider session should be gone"


def test_logout_refuses_a_post_logout_address_off_localhost(idp, page, catcher):
    sign_in_for_code(idp, page, catcher, "ann")
    query = urllib.parse.urlencode({"client_id": idp.client_id, "post_logout_redirect_uri": "https://evil.example/"})
    response = page.goto(f"{idp.discovery['end_session_endpoint']}?{query}")
    assert response.status == 400
    assert "Sign-out failed" in page.content()


# --- the dev-only redirect rule ---------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://demo.localhost:8080/_gatehouse/callback",
        "https://demo.localhost/_gatehouse/callback",
        "http://a-b.c.localhost:1/_gatehouse/callback",
        "http://127.0.0.1:53124/_gatehouse/callback",
    ],
)
def test_the_dev_rule_accepts_local_gatehouse_callbacks(uri):
    assert is_dev_callback(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:8080/_gatehouse/callback",  # no site name
        "http://demo.localhost.evil.com/_gatehouse/callback",
        "http://demo.localhost:8080@evil.com/_gatehouse/callback",
        "http://demo.localhost\\@evil.com/_gatehouse/callback",
        "http://demo.localhost:8080/_gatehouse/callback?next=x",
        "http://demo.localhost:8080/_gatehouse/callback#x",
        "http://demo.localhost:8080/other",
        "http://-bad.localhost/_gatehouse/callback",
        "https://127.0.0.1:8443/_gatehouse/callback",
        "http://127.0.0.1/_gatehouse/callback",
        "javascript://demo.localhost/_gatehouse/callback",
        "",
        None,
    ],
)
def test_the_dev_rule_refuses_anything_else(uri):
    assert not is_dev_callback(uri)


def test_the_post_logout_rule_accepts_any_page_of_a_local_site_only():
    assert is_dev_post_logout("http://demo.localhost:8080/_gatehouse/signed-out")
    assert is_dev_post_logout("http://127.0.0.1:4000/")
    assert not is_dev_post_logout("https://evil.example/")
    assert not is_dev_post_logout("http://demo.localhost.evil.example/")


@pytest.mark.parametrize(
    "uri, accepted",
    [
        ("http://127.0.0.1:8000/oidc/callback/", True),
        ("http://localhost:51234/oidc/callback/", True),
        ("http://127.0.0.1/oidc/callback/", False),  # no port: not a local console
        ("https://127.0.0.1:8000/oidc/callback/", False),
        ("http://127.0.0.1:8000/oidc/callback/?x=1", False),
        ("http://demo.localhost:8000/oidc/callback/", False),
        ("http://evil.example:8000/oidc/callback/", False),
        ("http://127.0.0.1:8000/_gatehouse/callback", False),
        ("http://user@127.0.0.1:8000/oidc/callback/", False),
    ],
)
def test_the_console_rule_accepts_only_a_loopback_console_callback(uri, accepted):
    assert is_dev_console_callback(uri) is accepted
