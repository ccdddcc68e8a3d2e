"""The viewer-request handler on events shaped like AWS's documented example."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from edge_runtime import config, handler, tokens
from tests.edge.factories import config_doc
from tests.edge.provider_stub import ProviderStub

HOST = "demo.example.com"
DIST = "EDFDVBD6EXAMPLE"


class Context:
    def __init__(self, remaining_ms=5000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


class StaticStore:
    def __init__(self, cfg):
        self.cfg = cfg

    def get(self, host):
        return self.cfg if self.cfg is not None and host in self.cfg.hosts else None


def event(uri="/", *, qs="", method="GET", host=HOST, headers=None, cookies=(), navigate=True, dist=DIST):
    hdrs = {"host": [{"key": "Host", "value": host}]}
    if navigate:
        hdrs["accept"] = [{"key": "Accept", "value": "text/html,application/xhtml+xml"}]
        hdrs["sec-fetch-mode"] = [{"key": "Sec-Fetch-Mode", "value": "navigate"}]
    if cookies:
        hdrs["cookie"] = [{"key": "Cookie", "value": c} for c in cookies]
    hdrs.update(headers or {})
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": dist,
                        "eventType": "viewer-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": hdrs,
                        "method": method,
                        "querystring": qs,
                        "uri": uri,
                    },
                }
            }
        ]
    }


@pytest.fixture
def provider():
    stub = ProviderStub()
    yield stub
    stub.close()


@pytest.fixture
def make_site(provider, monkeypatch):
    monkeypatch.setattr(handler, "_public_origin", lambda host: f"https://{host}")

    def make(**sections):
        sections.setdefault("provider", provider.provider_section())
        site = {"hosts": [HOST], "distribution_id": DIST, "build": {"id": "b1", "prefix": "builds/b1"}}
        site.update(sections.pop("site", {}))
        access = {"emails": ["ann@client.example"], "email_domains": ["consultancy.example"]}
        access.update(sections.pop("access", {}))
        cfg = config.parse(config_doc(site=site, access=access, **sections))
        monkeypatch.setattr(handler, "_store", StaticStore(cfg))
        return cfg

    return make


@pytest.fixture
def site(make_site):
    return make_site()


def run(evt, remaining_ms=5000):
    return handler.handler(evt, Context(remaining_ms))


def set_cookies(response):
    return [entry["value"] for entry in response["headers"].get("set-cookie", [])]


def cookie_pair(set_cookie):
    return set_cookie.split(";", 1)[0]


def session_for(cfg, **claims):
    now = int(time.time())
    body = {"sub": "user-1", "email": "ann@client.example", "email_verified": True, "site": cfg.site_id}
    body.update(iat=now, exp=now + 600)
    body.update(claims)
    return f"{handler.SESSION_COOKIE}={tokens.sign(cfg, tokens.SESSION, body)}"


def sign_in(uri="/reports", qs="id=7"):
    """Start a login; return (state, nonce, tx cookie pair, authorize params)."""
    response = run(event(uri, qs=qs))
    assert response["status"] == "302"
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["headers"]["location"][0]["value"]).query).items()}
    tx = [c for c in set_cookies(response) if c.startswith(handler.TX_COOKIE_PREFIX)]
    assert len(tx) == 1
    return params["state"], params["nonce"], cookie_pair(tx[0]), params


def callback(state, nonce, tx_cookie, *, code=None, extra_cookies=()):
    qs = f"code={code or 'c:' + nonce}&state={state}"
    return run(event("/_gatehouse/callback", qs=qs, cookies=[tx_cookie, *extra_cookies]))


# --- routing ------------------------------------------------------------------


def test_it_answers_an_unknown_host_with_a_plain_404(site):
    response = run(event(host="other.example.com"))
    assert response["status"] == "404"
    assert "no site" in response["body"]


def test_it_refuses_an_invalid_host_header(site):
    response = run(event(host="bad host\r\n"))
    assert response["status"] == "400"


def test_it_refuses_a_request_from_another_distribution(site):
    assert run(event(dist="EOTHERDIST"))["status"] == "404"


def test_a_disabled_site_shows_the_not_available_page_even_on_public_paths(make_site):
    make_site(site={"disabled": True}, paths={"public": ["/favicon.ico"]})
    response = run(event("/favicon.ico"))
    assert response["status"] == "403"
    assert "not available" in response["body"]


def test_a_public_path_passes_through_rewritten_to_the_live_build(make_site):
    make_site(paths={"public": ["/assets/public/"]})
    response = run(event("/assets/public/logo.png", navigate=False))
    assert "status" not in response
    assert response["uri"] == "/builds/b1/assets/public/logo.png"


def test_a_dot_segment_cannot_escape_a_public_prefix(make_site):
    make_site(paths={"public": ["/assets/public/"]})
    response = run(event("/assets/public/%2e%2e/secret.html", navigate=False))
    assert response["status"] == "401"


def test_a_non_navigation_request_without_session_gets_401_json(site):
    response = run(event("/api/data.json", navigate=False))
    assert response["status"] == "401"
    assert json.loads(response["body"]) == {"error": "sign_in_required"}
    assert response["headers"]["content-type"][0]["value"] == "application/json"


def test_a_fetch_with_accept_html_but_cors_mode_is_not_a_navigation(site):
    headers = {
        "accept": [{"key": "Accept", "value": "text/html"}],
        "sec-fetch-mode": [{"key": "Sec-Fetch-Mode", "value": "cors"}],
    }
    assert run(event("/x", navigate=False, headers=headers))["status"] == "401"


def test_a_post_without_session_gets_401_not_a_redirect(site):
    assert run(event("/form", method="POST"))["status"] == "401"


def test_a_malformed_uri_gets_a_400_page(site):
    assert run(event("/%ff%fe"))["status"] == "400"


def test_an_event_missing_its_request_gets_a_fail_closed_page():
    response = run({"Records": [{"cf": {}}]})
    assert response["status"] == "500"
    assert "Traceback" not in response["body"]


# --- login start ---------------------------------------------------------------


def test_a_navigation_without_session_redirects_to_the_provider_with_state_nonce_and_pkce(site, provider):
    response = run(event("/reports", qs="id=7"))
    location = response["headers"]["location"][0]["value"]
    assert location.startswith(f"{provider.base}/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == "client-1"
    assert params["redirect_uri"] == f"https://{HOST}/_gatehouse/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["nonce"] and params["state"]
    assert params["scope"] == "openid email profile"
    # The state carries no verifier, nonce or return path.
    state_claims = tokens.verify(site, tokens.STATE, params["state"], time.time())
    assert set(state_claims) == {"tid", "exp", "site"}
    (tx,) = set_cookies(response)
    assert tx.startswith(handler.TX_COOKIE_PREFIX + state_claims["tid"] + "=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"):
        assert attribute in tx
    assert "Domain" not in tx
    assert response["headers"]["cache-control"][0]["value"] == "no-store"


def test_extra_authorize_params_are_sent_but_cannot_override_ours(make_site, provider):
    make_site(provider=provider.provider_section(authorize_params={"audience": "https://api.example"}))
    location = run(event("/"))["headers"]["location"][0]["value"]
    assert parse_qs(urlsplit(location).query)["audience"] == ["https://api.example"]


def test_two_tabs_get_two_independent_transactions(site):
    first = sign_in()
    second = sign_in()
    assert first[2] != second[2]
    assert first[0] != second[0]


def test_a_viewer_with_many_pending_logins_has_the_oldest_cleared(site):
    pending = [f"{handler.TX_COOKIE_PREFIX}{'t' * 15}{i}=x" for i in range(6)]
    response = run(event("/", cookies=["; ".join(pending)]))
    cleared = [c for c in set_cookies(response) if "Max-Age=0" in c]
    assert len(cleared) == 2


# --- sessions ------------------------------------------------------------------


def test_a_valid_session_passes_and_gatehouse_cookies_are_not_forwarded(site):
    response = run(event("/app/", cookies=[f"theme=dark; {session_for(site)}", "other=1"]))
    assert "status" not in response
    assert response["uri"] == "/builds/b1/app/index.html"
    values = [c["value"] for c in response["headers"]["cookie"]]
    assert values == ["theme=dark", "other=1"]


def test_a_session_is_read_from_any_cookie_header(site):
    response = run(event("/x.html", cookies=["a=1", "b=2", session_for(site)]))
    assert response["uri"] == "/builds/b1/x.html"
    assert [c["value"] for c in response["headers"]["cookie"]] == ["a=1", "b=2"]


def test_spa_mode_serves_index_html_for_paths_without_an_extension(make_site):
    cfg = make_site(site={"spa": True})
    response = run(event("/customers/42", cookies=[session_for(cfg)]))
    assert response["uri"] == "/builds/b1/index.html"


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "=", "; ;", "__Host-gh-session", "__Host-gh-session=", "__Host-gh-session=a.b", "\x00\xff=\x01"],
)
def test_a_malformed_cookie_is_ignored_and_the_viewer_gets_a_fresh_login(site, cookie):
    response = run(event("/", cookies=[cookie]))
    assert response["status"] == "302"


def test_a_malformed_cookie_beside_a_valid_session_does_not_hide_it(site):
    response = run(event("/ok.html", cookies=["broken; ;==; " + session_for(site)]))
    assert response["uri"] == "/builds/b1/ok.html"


def test_an_expired_session_starts_a_new_login(site):
    response = run(event("/", cookies=[session_for(site, exp=int(time.time()) - 1)]))
    assert response["status"] == "302"


def test_a_session_of_another_site_is_refused(site):
    response = run(event("/", cookies=[session_for(site, site="another-site")]))
    assert response["status"] == "302"


def test_a_transaction_or_state_token_passed_off_as_a_session_is_refused(site):
    now = int(time.time())
    claims = {"sub": "x", "email": "ann@client.example", "email_verified": True, "site": site.site_id, "exp": now + 600}
    for purpose in (tokens.TRANSACTION, tokens.STATE):
        forged = tokens.sign(site, purpose, claims)
        response = run(event("/", cookies=[f"{handler.SESSION_COOKIE}={forged}"]))
        assert response["status"] == "302"


def test_rules_are_checked_on_every_request_against_the_current_config(make_site):
    cfg = make_site()
    cookie = session_for(cfg)
    assert "status" not in run(event("/a.html", cookies=[cookie]))
    make_site(access={"emails": [], "email_domains": ["consultancy.example"]})
    response = run(event("/a.html", cookies=[cookie]))
    assert response["status"] == "403"
    assert "ann@client.example" in response["body"]


def test_a_session_outside_the_access_window_is_refused(make_site):
    cfg = make_site(access={"not_after": "2020-01-01T00:00:00Z"})
    response = run(event("/", cookies=[session_for(cfg)]))
    assert response["status"] == "403"
    assert "ended" in response["body"]


def test_before_the_access_window_nobody_is_sent_to_the_provider(make_site):
    make_site(access={"not_before": "2099-01-01T00:00:00Z"})
    response = run(event("/"))
    assert response["status"] == "403"
    assert "not open yet" in response["body"]


def test_a_rotated_key_keeps_old_sessions_and_sign_everyone_out_drops_them(make_site):
    old_key, new_key = "A" * 43, "B" * 43
    cfg = make_site(session={"current_kid": "k1", "keys": {"k1": old_key}})
    cookie = session_for(cfg)
    make_site(session={"current_kid": "k2", "keys": {"k2": new_key, "k1": old_key}})
    assert "status" not in run(event("/a.html", cookies=[cookie]))
    make_site(session={"current_kid": "k2", "keys": {"k2": new_key}})
    assert run(event("/a.html", cookies=[cookie]))["status"] == "302"


@pytest.mark.parametrize(
    ("access", "claims", "allowed"),
    [
        ({"emails": ["ann@client.example"], "email_domains": []}, {"email": "Ann@Client.Example"}, True),
        ({"emails": ["ann@client.example"], "email_domains": []}, {"email_verified": False}, False),
        ({"emails": ["ann@client.example"], "email_domains": []}, {"email_verified": "true"}, False),
        ({"emails": [], "email_domains": ["example.com"]}, {"email": "x@example.com"}, True),
        ({"emails": [], "email_domains": ["example.com"]}, {"email": "x@evilexample.com"}, False),
        ({"emails": [], "email_domains": ["example.com"]}, {"email": "x@sub.example.com"}, False),
        ({"emails": [], "email_domains": ["example.com"]}, {"email": "x@example.com.evil.io"}, False),
        ({"emails": [], "email_domains": ["example.com"]}, {"email": "@example.com"}, False),
        ({"emails": [], "email_domains": [], "groups_claim": "groups", "groups": ["a"]}, {"groups": ["b", "a"]}, True),
        ({"emails": [], "email_domains": [], "groups_claim": "groups", "groups": ["a"]}, {"groups": "a"}, True),
        ({"emails": [], "email_domains": [], "groups_claim": "groups", "groups": ["a"]}, {"groups": ["ab"]}, False),
        ({"emails": [], "email_domains": [], "groups_claim": "groups", "groups": ["a"]}, {"groups": {"a": 1}}, False),
        ({"emails": [], "email_domains": [], "allow_any_user": True}, {"email_verified": False}, True),
        ({"emails": [], "email_domains": []}, {}, False),
    ],
)
def test_access_rules(make_site, access, claims, allowed):
    cfg = make_site(access=access)
    base = {"sub": "u", "email": "ann@client.example", "email_verified": True}
    base.update(claims)
    assert handler.allowed(cfg, base) is allowed


def test_me_returns_the_signed_in_viewers_claims_without_tokens(site):
    response = run(event("/_gatehouse/me", navigate=False, cookies=[session_for(site, name="Ann")]))
    assert response["status"] == "200"
    body = json.loads(response["body"])
    assert body["email"] == "ann@client.example"
    assert body["name"] == "Ann"
    assert body["signed_in"] is True
    assert "site" not in body


def test_me_without_session_is_401_json(site):
    response = run(event("/_gatehouse/me", navigate=False))
    assert response["status"] == "401"
    assert json.loads(response["body"]) == {"signed_in": False}


def test_unknown_gatehouse_paths_are_404_and_never_reach_the_origin(site):
    assert run(event("/_gatehouse/../_gatehouse/nothing", cookies=[session_for(site)]))["status"] == "404"


# --- callback ------------------------------------------------------------------


def test_a_full_sign_in_sets_a_session_and_returns_to_the_original_path(site, provider):
    state, nonce, tx, _ = sign_in("/reports", "id=7")
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    assert response["headers"]["location"][0]["value"] == "/reports?id=7"
    cookies = set_cookies(response)
    session = next(c for c in cookies if c.startswith(handler.SESSION_COOKIE + "="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in session
    assert any(c.startswith(tx.split("=")[0] + "=;") and "Max-Age=0" in c for c in cookies)
    # The session then lets the viewer in.
    assert "status" not in run(event("/reports", cookies=[cookie_pair(session)]))
    # The token request used PKCE and form-encoded basic credentials.
    (request,) = provider.token_requests
    assert len(request["form"]["code_verifier"]) >= 43
    assert request["form"]["redirect_uri"] == f"https://{HOST}/_gatehouse/callback"
    import base64

    decoded = base64.b64decode(request["authorization"].split()[1]).decode()
    assert decoded == "client-1:s3cret%3Awith%2Fodd%26chars-long-enough-for-hs256"


def test_client_secret_post_sends_the_secret_in_the_form(make_site, provider):
    make_site(provider=provider.provider_section(token_endpoint_auth_method="client_secret_post"))
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"
    (request,) = provider.token_requests
    assert request["authorization"] is None
    assert request["form"]["client_secret"] == "s3cret:with/odd&chars-long-enough-for-hs256"


def test_a_used_transaction_cannot_be_used_again(site, provider):
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"
    # The browser dropped the cookie; a replayed callback has none.
    response = run(event("/_gatehouse/callback", qs=f"code=c:{nonce}&state={state}"))
    assert response["status"] == "400"
    assert len(provider.token_requests) == 1


def test_a_tampered_state_is_refused_without_calling_the_provider(site, provider):
    state, nonce, tx, _ = sign_in()
    response = callback(state[:-2] + ("AA" if not state.endswith("AA") else "BB"), nonce, tx)
    assert response["status"] == "400"
    assert provider.token_requests == []


def test_an_expired_state_is_refused(site, provider, monkeypatch):
    state, nonce, tx, _ = sign_in()
    real = time.time
    monkeypatch.setattr(handler.time, "time", lambda: real() + handler.LOGIN_TTL + 5)
    assert callback(state, nonce, tx)["status"] == "400"
    assert provider.token_requests == []


def test_the_state_of_one_tab_does_not_work_with_the_cookie_of_another(site, provider):
    state_a, nonce_a, _tx_a, _ = sign_in()
    _state_b, _nonce_b, tx_b, _ = sign_in()
    assert callback(state_a, nonce_a, tx_b)["status"] == "400"
    assert provider.token_requests == []


def test_a_session_cookie_cannot_stand_in_for_a_transaction(site, provider):
    state, nonce, tx, _ = sign_in()
    name = tx.split("=")[0]
    forged = session_for(site).split("=", 1)[1]
    assert callback(state, nonce, f"{name}={forged}")["status"] == "400"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"aud": ["client-1", "other"]}, "authorized party"),
        ({"azp": "other"}, "authorized party"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": int(time.time()) + 3600}, "future"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"sub": ...}, "subject"),
    ],
)
def test_an_id_token_failing_a_check_is_refused(site, provider, claims, reason):
    provider.id_token_claims = claims
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "401"
    assert reason in response["body"]
    assert not any(c.startswith(handler.SESSION_COOKIE + "=") and "Max-Age=0" not in c for c in set_cookies(response))


def test_an_entra_token_from_another_tenant_is_refused(make_site, provider):
    make_site(provider=provider.provider_section(tenant_id="tenant-a"))
    provider.id_token_claims = {"tid": "tenant-b"}
    state, nonce, tx, _ = sign_in()
    assert "tenant" in callback(state, nonce, tx)["body"]
    provider.id_token_claims = {"tid": "tenant-a"}
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"


def test_an_es256_id_token_is_accepted(site, provider):
    provider.id_token_key = ("ec1", "ES256")
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"


def test_an_hs256_id_token_is_refused_unless_the_site_allows_it(make_site, provider):
    provider.id_token_key = ("hs", "HS256")
    make_site()
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "401"
    make_site(provider=provider.provider_section(id_token_algs=["RS256", "HS256"]))
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"


def test_an_unknown_kid_refetches_the_keys_once(site, provider, monkeypatch):
    from edge_runtime import oidc

    monkeypatch.setattr(oidc, "_refetched", {})
    monkeypatch.setattr(oidc, "_last_refetch", {})
    provider.publish_rotated_key()
    provider.id_token_key = ("rsa2", "RS256")
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"
    assert provider.jwks_requests == 1
    # A token with a kid nobody publishes does not cause a second fetch.
    provider.id_token_key = ("nobody", "RS256")
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "401"
    assert provider.jwks_requests == 1


def test_an_unverified_email_is_refused_by_an_email_rule(site, provider):
    provider.id_token_claims = {"email_verified": False}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "403"
    assert not any(c.startswith(handler.SESSION_COOKIE + "=") and "Max-Age=0" not in c for c in set_cookies(response))


def test_userinfo_fills_in_claims_the_id_token_lacks(site, provider):
    provider.id_token_claims = {"email": ..., "email_verified": ...}
    provider.userinfo = {"sub": "user-1", "email": "ann@client.example", "email_verified": True}
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"
    assert provider.userinfo_requests == ["Bearer at-1"]


def test_userinfo_for_another_subject_is_refused(site, provider):
    provider.id_token_claims = {"email": ..., "email_verified": ...}
    provider.userinfo = {"sub": "someone-else", "email": "ann@client.example", "email_verified": True}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "401"
    assert "another subject" in response["body"]


def test_userinfo_is_not_called_when_the_id_token_has_what_the_rules_need(site, provider):
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "302"
    assert provider.userinfo_requests == []


def test_a_provider_error_gets_a_clear_escaped_page(site, provider):
    state, _nonce, tx, _ = sign_in()
    qs = f"error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}"
    response = run(event("/_gatehouse/callback", qs=qs, cookies=[tx]))
    assert response["status"] == "401"
    assert "access_denied" in response["body"]
    assert "<script>" not in response["body"]
    assert "&lt;script&gt;" in response["body"]
    assert 'href="/"' in response["body"]


def test_a_token_endpoint_refusal_gets_a_page_not_a_crash(site, provider):
    provider.token_status = 401
    provider.token_body = {"error": "invalid_client"}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "401"
    assert "invalid_client" not in response["body"]
    assert 'href="/"' in response["body"]


def test_a_slow_provider_is_cut_off_within_the_lambda_deadline(site, provider):
    provider.delay = 2.0
    state, nonce, tx, _ = sign_in()
    started = time.monotonic()
    response = handler.handler(
        event("/_gatehouse/callback", qs=f"code=c:{nonce}&state={state}", cookies=[tx]), Context(1500)
    )
    assert response["status"] == "401"
    assert time.monotonic() - started < 1.5


def test_an_unreachable_provider_gets_a_page(make_site, provider):
    make_site(provider=provider.provider_section(token_endpoint="http://127.0.0.1:9/token"))
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "401"


@pytest.mark.parametrize(
    "qs",
    ["code=a&code=b&state=x", "state=", "code=x", "%%%", "state=" + "A" * 5000],
)
def test_a_malformed_callback_query_gets_a_small_page(site, qs):
    response = run(event("/_gatehouse/callback", qs=qs))
    assert response["status"] == "400"


@pytest.mark.parametrize(
    ("uri", "qs", "expected"),
    [
        ("//evil.com", "", "/"),
        ("/%2F%2Fevil.com", "", "/"),
        ("/a", "next=%0d%0aSet-Cookie:x", "/"),
        ("/ok/page", "a=1&b=%2F", "/ok/page?a=1&b=%2F"),
    ],
)
def test_the_return_path_is_always_a_relative_path_on_this_host(site, provider, uri, qs, expected):
    response = run(event(uri, qs=qs))
    if response["status"] != "302":
        pytest.skip("not a login redirect")
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["headers"]["location"][0]["value"]).query).items()}
    tx = cookie_pair(set_cookies(response)[0])
    final = callback(params["state"], params["nonce"], tx)
    assert final["headers"]["location"][0]["value"] == expected


def test_sign_out_clears_every_gatehouse_cookie_and_goes_to_the_end_session_endpoint(site, provider):
    cookies = [session_for(site), f"{handler.TX_COOKIE_PREFIX}abc=x"]
    response = run(event("/_gatehouse/sign-out", cookies=cookies))
    assert response["status"] == "302"
    location = response["headers"]["location"][0]["value"]
    assert location.startswith(f"{provider.base}/logout?")
    params = parse_qs(urlsplit(location).query)
    assert params["post_logout_redirect_uri"] == [f"https://{HOST}/_gatehouse/signed-out"]
    assert params["client_id"] == ["client-1"]
    cleared = set_cookies(response)
    assert len(cleared) == 2
    assert all("Max-Age=0" in c for c in cleared)


def test_sign_out_without_end_session_endpoint_shows_the_signed_out_page(make_site, provider):
    make_site(provider=provider.provider_section(end_session_endpoint=None))
    response = run(event("/_gatehouse/sign-out"))
    assert response["headers"]["location"][0]["value"] == f"https://{HOST}/_gatehouse/signed-out"
    page = run(event("/_gatehouse/signed-out"))
    assert page["status"] == "200"
    assert "signed out" in page["body"]


def test_generated_responses_carry_the_sites_security_headers_and_stay_small(make_site):
    make_site(headers={"x-frame-options": "DENY", "strict-transport-security": "max-age=63072000"})
    for response in (run(event("/")), run(event("/", navigate=False)), run(event("/_gatehouse/nope"))):
        assert response["headers"]["strict-transport-security"][0]["value"] == "max-age=63072000"
        assert response["headers"]["cache-control"][0]["value"] == "no-store"
        assert len(json.dumps(response)) < 40 * 1024
