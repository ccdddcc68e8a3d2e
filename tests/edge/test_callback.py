"""The callback, sign-out and cookie handling of the handler, and what they log.

Uses the handler tests' events, fixtures and scripted provider
(tests/edge/test_handler.py, provider_stub.py).
"""

import json
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from edge_runtime import handler, tokens
from edge_runtime.config import FIELDS_SINCE, for_schema, validate
from tests.edge.factories import config_doc
from tests.edge.test_handler import (  # noqa: F401 - fixtures
    HOST,
    callback,
    cookie_pair,
    event,
    make_site,
    provider,
    run,
    session_for,
    set_cookies,
    sign_in,
    site,
)

# The codes a CloudFront distribution's custom error responses can replace.
CLOUDFRONT_REPLACEABLE = {"400", "403", "404", "405", "414", "416", "500", "501", "502", "503", "504"}
LIMIT = 40 * 1024


def location_params(response):
    return {k: v[0] for k, v in parse_qs(urlsplit(response["headers"]["location"][0]["value"]).query).items()}


def tx_cookies(response):
    return [c for c in set_cookies(response) if c.startswith(handler.TX_COOKIE_PREFIX) and "Max-Age=0" not in c]


def transaction_of(cfg, response):
    (tx,) = tx_cookies(response)
    return tokens.verify(cfg, tokens.TRANSACTION, cookie_pair(tx).split("=", 1)[1], time.time())


def log_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def callback_with(state, tx, extra):
    return run(event("/_gatehouse/callback", qs=f"state={state}&{extra}", cookies=[tx]))


def timestamp(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- item 7: token endpoint failures -----------------------------------------


def test_a_reused_code_starts_one_fresh_sign_in_to_the_same_page(site, provider):
    provider.token_status = 400
    provider.token_body = {"error": "invalid_grant", "error_description": "code already used"}
    state, nonce, tx, _ = sign_in("/reports", "id=7")
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    assert response["headers"]["location"][0]["value"].startswith(f"{provider.base}/authorize?")
    again = location_params(response)
    assert again["state"] != state
    # The old transaction is cleared, the new one returns to the same page
    # and is marked as the one automatic restart.
    assert any(c.startswith(tx.split("=")[0] + "=;") for c in set_cookies(response))
    restarted = transaction_of(site, response)
    assert restarted["r"] == "/reports?id=7"
    assert restarted["a"] == "invalid_grant"

    # The restarted sign-in meets invalid_grant again: a page, not a loop.
    new_tx = cookie_pair(tx_cookies(response)[0])
    final = callback(again["state"], again["nonce"], new_tx)
    assert final["status"] == "401"
    assert "location" not in final["headers"]
    assert 'href="/"' in final["body"]
    assert len(provider.token_requests) == 2


def test_after_a_restart_the_sign_in_completes_normally(site, provider):
    provider.token_status = 400
    provider.token_body = {"error": "invalid_grant"}
    state, nonce, tx, _ = sign_in("/reports", "")
    response = callback(state, nonce, tx)
    provider.token_status, provider.token_body = 200, None
    again = location_params(response)
    final = callback(again["state"], again["nonce"], cookie_pair(tx_cookies(response)[0]))
    assert final["status"] == "302"
    assert final["headers"]["location"][0]["value"] == "/reports"


@pytest.mark.parametrize(
    "failure",
    ["server_error", "invalid_client", "not_json", "unreachable", "slow", "no_id_token"],
)
def test_other_provider_failures_get_a_try_again_page_cloudfront_cannot_replace(make_site, provider, failure):
    section = provider.provider_section()
    if failure == "unreachable":
        section["token_endpoint"] = "http://127.0.0.1:9/token"
    make_site(provider=section)
    if failure == "server_error":
        provider.token_status, provider.token_body = 500, {"error": "server_error"}
    elif failure == "invalid_client":
        provider.token_status, provider.token_body = 401, {"error": "invalid_client"}
    elif failure == "not_json":
        provider.token_status, provider.token_body = 503, "<html>down</html>"
    elif failure == "no_id_token":
        provider.token_body = {"access_token": "at-1", "token_type": "Bearer"}
    elif failure == "slow":
        provider.delay = 2.0
    state, nonce, tx, _ = sign_in()
    response = handler.handler(
        event("/_gatehouse/callback", qs=f"code=c:{nonce}&state={state}", cookies=[tx]),
        type("Ctx", (), {"get_remaining_time_in_millis": lambda self: 1500})(),
    )
    assert response["status"] not in CLOUDFRONT_REPLACEABLE
    assert 'href="/"' in response["body"]
    assert "Try signing in again" in response["body"]


# --- item 8: RFC 9207 iss ------------------------------------------------------


def test_an_iss_parameter_naming_another_issuer_is_refused_before_the_code_is_used(site, provider):
    state, nonce, tx, _ = sign_in()
    response = callback_with(state, tx, f"code=c:{nonce}&iss={quote('https://evil.example/')}")
    assert response["status"] == "400"
    assert "another identity provider" in response["body"]
    assert provider.token_requests == []


def test_the_matching_iss_parameter_is_accepted(site, provider):
    state, nonce, tx, _ = sign_in()
    response = callback_with(state, tx, f"code=c:{nonce}&iss={quote(provider.issuer)}")
    assert response["status"] == "302"


def test_a_provider_that_advertises_the_iss_parameter_must_send_it(make_site, provider):
    make_site(provider=provider.provider_section(authorization_response_iss_parameter_supported=True))
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "400"
    assert provider.token_requests == []
    state, nonce, tx, _ = sign_in()
    assert callback_with(state, tx, f"code=c:{nonce}&iss={quote(provider.issuer)}")["status"] == "302"


def test_an_error_answer_is_checked_for_its_iss_too(site, provider):
    state, _nonce, tx, _ = sign_in()
    response = callback_with(state, tx, f"error=access_denied&iss={quote('https://evil.example/')}")
    assert "access_denied" not in response["body"]


def test_the_iss_and_revocation_fields_are_schema_2():
    assert FIELDS_SINCE["provider"]["authorization_response_iss_parameter_supported"] == 2
    assert FIELDS_SINCE["session"]["revoked_at"] == 2
    doc = config_doc(
        provider={"authorization_response_iss_parameter_supported": True},
        session={"revoked_at": "2026-01-01T00:00:00Z"},
    )
    validate(doc)
    old = for_schema(doc, 1)
    assert "authorization_response_iss_parameter_supported" not in old["provider"]
    assert "revoked_at" not in old["session"]
    validate(old)
    doc["schema_version"] = 1
    with pytest.raises(ValueError):
        validate(doc)
    with pytest.raises(ValueError):
        validate(config_doc(session={"revoked_at": "yesterday"}))
    with pytest.raises(ValueError):
        validate(config_doc(provider={"authorization_response_iss_parameter_supported": "yes"}))


# --- item 9: sign everyone out demands a fresh authentication ------------------


def revoked_site(make_site, provider, seconds_ago):
    return make_site(
        provider=provider.provider_section(),
        session={"revoked_at": timestamp(int(time.time()) - seconds_ago)},
    )


def test_after_sign_everyone_out_the_next_sign_in_demands_a_fresh_authentication(make_site, provider):
    revoked_site(make_site, provider, 120)
    params = sign_in()[3]
    assert 118 <= int(params["max_age"]) <= 125
    assert "prompt" not in params


def test_without_a_revocation_no_max_age_is_sent(site):
    assert "max_age" not in sign_in()[3]


def test_long_after_the_revocation_sign_ins_are_ordinary_again(make_site, provider):
    revoked_site(make_site, provider, handler.FRESH_AUTH_WINDOW + 60)
    provider.id_token_claims = {"auth_time": 1}
    state, nonce, tx, params = sign_in()
    assert "max_age" not in params
    assert callback(state, nonce, tx)["status"] == "302"


def test_an_authentication_after_the_revocation_signs_in(make_site, provider):
    revoked_site(make_site, provider, 120)
    provider.id_token_claims = {"auth_time": int(time.time()) - 5}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    assert any(c.startswith(handler.SESSION_COOKIE + "=") and "Max-Age=0" not in c for c in set_cookies(response))


def test_an_authentication_before_the_revocation_restarts_once_with_prompt_login_then_is_refused(make_site, provider):
    cfg = revoked_site(make_site, provider, 120)
    provider.id_token_claims = {"auth_time": int(time.time()) - 3600}
    state, nonce, tx, _ = sign_in("/reports", "")
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    again = location_params(response)
    assert again["prompt"] == "login"
    assert "max_age" in again
    assert transaction_of(cfg, response)["a"] == "stale_auth"
    assert not any(c.startswith(handler.SESSION_COOKIE + "=") for c in set_cookies(response))

    final = callback(again["state"], again["nonce"], cookie_pair(tx_cookies(response)[0]))
    assert final["status"] == "401"
    assert "sign in again" in final["body"]
    assert not any(c.startswith(handler.SESSION_COOKIE + "=") and "Max-Age=0" not in c for c in set_cookies(final))


def test_a_provider_that_omits_auth_time_is_asked_for_prompt_login_and_then_trusted(make_site, provider, capsys):
    revoked_site(make_site, provider, 120)
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    again = location_params(response)
    assert again["prompt"] == "login"
    final = callback(again["state"], again["nonce"], cookie_pair(tx_cookies(response)[0]))
    assert final["status"] == "302"
    assert any(line["gatehouse"] == "auth_time_missing" for line in log_lines(capsys))


def test_a_sign_in_restarted_for_a_used_code_may_still_restart_once_for_a_stale_authentication(make_site, provider):
    cfg = revoked_site(make_site, provider, 120)
    provider.token_status, provider.token_body = 400, {"error": "invalid_grant"}
    state, nonce, tx, _ = sign_in()
    first = callback(state, nonce, tx)
    provider.token_status, provider.token_body = 200, None
    provider.id_token_claims = {"auth_time": int(time.time()) - 3600}
    again = location_params(first)
    second = callback(again["state"], again["nonce"], cookie_pair(tx_cookies(first)[0]))
    assert second["status"] == "302"
    assert transaction_of(cfg, second)["a"] == "invalid_grant,stale_auth"
    third = location_params(second)
    assert third["prompt"] == "login"
    # Each reason once: a third answer with either problem gets a page.
    provider.token_status, provider.token_body = 400, {"error": "invalid_grant"}
    final = callback(third["state"], third["nonce"], cookie_pair(tx_cookies(second)[0]))
    assert final["status"] == "401"
    assert "location" not in final["headers"]


def test_a_configured_prompt_is_kept_beside_prompt_login(make_site, provider):
    make_site(
        provider=provider.provider_section(authorize_params={"prompt": "select_account"}),
        session={"revoked_at": timestamp(int(time.time()) - 60)},
    )
    provider.id_token_claims = {"auth_time": 1}
    state, nonce, tx, _ = sign_in()
    again = location_params(callback(state, nonce, tx))
    assert again["prompt"] == "login select_account"


# --- item 10: id_token_hint at sign-out -----------------------------------------


def id_token_cookie(response):
    return [c for c in set_cookies(response) if c.startswith(handler.ID_TOKEN_COOKIE + "=")]


def test_sign_in_keeps_the_id_token_for_sign_out_only_and_never_for_scripts(site, provider):
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    (kept,) = id_token_cookie(response)
    token = cookie_pair(kept).split("=", 1)[1]
    assert token.count(".") == 2
    for attribute in ("Path=/_gatehouse/sign-out", "HttpOnly", "Secure", "SameSite=Lax"):
        assert attribute in kept
    assert "Domain" not in kept

    signed_out = run(event("/_gatehouse/sign-out", cookies=[f"{handler.ID_TOKEN_COOKIE}={token}"]))
    params = location_params(signed_out)
    assert params["id_token_hint"] == token
    assert params["post_logout_redirect_uri"] == f"https://{HOST}/_gatehouse/signed-out"
    assert any(c.startswith(handler.ID_TOKEN_COOKIE + "=;") and "Path=/_gatehouse/sign-out" in c for c in set_cookies(signed_out))


def test_an_id_token_too_large_for_a_cookie_is_not_kept(site, provider):
    provider.id_token_claims = {"filler": "x" * 4000}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    (line,) = id_token_cookie(response)
    assert "Max-Age=0" in line


def test_sign_out_sends_no_hint_for_another_client_or_a_malformed_cookie(site, provider):
    foreign = provider.make_id_token("n", aud="another-client")
    for value in (foreign, "not-a-token", "a.b.c" + "%" * 3):
        params = location_params(run(event("/_gatehouse/sign-out", cookies=[f"{handler.ID_TOKEN_COOKIE}={value}"])))
        assert "id_token_hint" not in params


def test_providers_without_openid_logout_get_no_hint_and_keep_no_id_token(make_site, provider):
    make_site(provider=provider.provider_section(end_session_redirect_param="logout_uri"))
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx)
    assert all("Max-Age=0" in c for c in id_token_cookie(response))
    token = provider.make_id_token("n")
    params = location_params(run(event("/_gatehouse/sign-out", cookies=[f"{handler.ID_TOKEN_COOKIE}={token}"])))
    assert "id_token_hint" not in params
    assert "logout_uri" in params


def test_me_never_shows_the_id_token(site, provider):
    state, nonce, tx, _ = sign_in()
    cookies = [cookie_pair(c) for c in set_cookies(callback(state, nonce, tx)) if "Max-Age=0" not in c]
    (id_token,) = [c.split("=", 1)[1] for c in cookies if c.startswith(handler.ID_TOKEN_COOKIE + "=")]
    me = run(event("/_gatehouse/me", navigate=False, cookies=["; ".join(cookies)]))
    assert me["status"] == "200"
    assert id_token.split(".")[1] not in me["body"]
    assert set(json.loads(me["body"])) <= {"sub", "email", "email_verified", "name", "signed_in", "expires_at"}


# --- item 11: cookies -------------------------------------------------------------


def minted_name(i):
    return f"{handler.TX_COOKIE_PREFIX}{'A' * 12}{i:04d}"


@pytest.mark.parametrize("junk", ["__Host-gh-tx-abc", "__Host-gh-tx-<script>xx", "__Host-gh-tx-" + "A" * 40, "__Host-gh-tx-AAAAAAAAAAAAAAA%"])
def test_a_transaction_cookie_name_the_edge_could_not_have_minted_is_never_echoed(site, provider, junk):
    cookies = ["; ".join([f"{junk}=x"] * 6 + [session_for(site)])]
    for uri in ("/_gatehouse/sign-out", "/"):
        for response in (run(event(uri, cookies=cookies)), run(event(uri, cookies=[f"{junk}=x"] * 8))):
            assert not any(junk in c for c in set_cookies(response))
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx, extra_cookies=[f"{junk}=x"])
    assert not any(junk in c for c in set_cookies(response))


def test_sign_out_expires_the_minted_transaction_cookies(site):
    response = run(event("/_gatehouse/sign-out", cookies=[f"{minted_name(1)}=x; {minted_name(2)}=y"]))
    expired = set_cookies(response)
    assert any(c.startswith(minted_name(1) + "=;") for c in expired)
    assert any(c.startswith(minted_name(2) + "=;") for c in expired)


def response_bytes(response):
    """What CloudFront counts against its 40 KB: status line, every header
    line and the body, in UTF-8."""
    size = len(f"HTTP/1.1 {response['status']} {response.get('statusDescription', '')}\r\n")
    for entries in response.get("headers", {}).values():
        for entry in entries:
            size += len(f"{entry['key']}: {entry['value']}\r\n".encode())
    return size + 2 + len(response.get("body", "").encode())


def test_no_generated_response_passes_40_kb_whatever_the_request_carries(make_site, provider):
    # The site's headers at the validator's maximum.
    headers = {f"x-site-header-{i:02d}": "v" * 190 for i in range(18)}
    cfg = make_site(headers=headers)
    assert len(cfg.headers) == 20
    minted = "; ".join(f"{minted_name(i)}=" + "v" * 20 for i in range(350))
    junk = "; ".join(f"{handler.TX_COOKIE_PREFIX}junk-{i}-{'j' * 30}=" + "v" * 20 for i in range(350))
    long_sub = "s" * 30000
    state, nonce, tx, _ = sign_in()
    big = [minted, junk, tx, session_for(cfg, sub=long_sub, email="x@nowhere.example")]
    description = quote("<b>" * 5000)
    requests = [
        event("/", cookies=big),
        event("/" + "a" * 8000, qs="q=" + "b" * 8000, cookies=[minted, junk]),
        event("/x", navigate=False, cookies=big),
        event("/_gatehouse/sign-out", cookies=big),
        event("/_gatehouse/me", navigate=False, cookies=big),
        event("/_gatehouse/signed-out", cookies=big),
        event("/_gatehouse/elsewhere", cookies=big),
        event("/_gatehouse/callback", qs=f"state={state}&error=access_denied&error_description={description}", cookies=big),
        event("/_gatehouse/callback", qs=f"state=junk&error=x&error_description={description}", cookies=big),
        event("/_gatehouse/callback", qs=f"state={state}&code=c:{nonce}", cookies=big),
        event("/_gatehouse/callback", qs=f"state={state}&code=c:{nonce}", method="POST", cookies=big),
    ]
    sizes = []
    for evt in requests:
        response = run(evt)
        if "status" in response:
            sizes.append(response_bytes(response))
    # Every request above but the callback answered with a page or redirect.
    assert len(sizes) == len(requests)
    # The refusal of a viewer with an enormous sub, after a full sign-in.
    provider.id_token_claims = {"sub": long_sub, "email": "x@nowhere.example"}
    state, nonce, tx, _ = sign_in()
    response = callback(state, nonce, tx, extra_cookies=[minted, junk])
    assert response["status"] == "403"
    sizes.append(response_bytes(response))
    assert max(sizes) < LIMIT, sizes


# --- item 12: provider errors only after the state checks out --------------------


@pytest.mark.parametrize("state", ["", "junk", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"])
def test_a_provider_error_with_a_bad_state_shows_no_provider_text(site, state):
    qs = f"error=access_denied&error_description={quote('Call +1 555 0100 to restore access')}&state={state}"
    response = run(event("/_gatehouse/callback", qs=qs))
    assert response["status"] == "400"
    assert "555" not in response["body"]
    assert "access_denied" not in response["body"]
    assert 'href="/"' in response["body"]


def test_a_provider_error_with_someone_elses_valid_state_shows_no_provider_text(site):
    # An attacker starts a sign-in of their own to get a valid state, then
    # sends the link to a viewer whose browser holds no transaction for it.
    state, _nonce, _tx, _ = sign_in()
    qs = f"error=access_denied&error_description={quote('Call +1 555 0100')}&state={state}"
    response = run(event("/_gatehouse/callback", qs=qs))
    assert "555" not in response["body"]
    assert "access_denied" not in response["body"]


def test_the_back_button_after_signing_in_goes_back_to_the_demo(site, provider):
    state, nonce, tx, _ = sign_in()
    session = next(c for c in set_cookies(callback(state, nonce, tx)) if c.startswith(handler.SESSION_COOKIE + "="))
    again = run(event("/_gatehouse/callback", qs=f"code=c:{nonce}&state={state}", cookies=[cookie_pair(session)]))
    assert again["status"] == "302"
    assert again["headers"]["location"][0]["value"] == "/"
    assert len(provider.token_requests) == 1


# --- item 14: logging ----------------------------------------------------------------


def test_an_unexpected_error_logs_its_type_step_and_frames_but_no_secret(site, provider, monkeypatch, capsys):
    from edge_runtime import oidc

    state, nonce, tx, _ = sign_in()
    tx_value = tx.split("=", 1)[1]
    code = f"c:{nonce}-Zq8"

    def broken(cfg, code, verifier, redirect_uri, deadline):
        raise ValueError(f"cannot use code={code} with cookie {tx_value} and verifier {verifier}")

    monkeypatch.setattr(oidc, "exchange_code", broken)
    capsys.readouterr()
    response = callback(state, nonce, tx, code=code)
    assert response["status"] == "500"
    out = capsys.readouterr().out
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["gatehouse"] == "error"
    assert line["kind"] == "ValueError"
    assert line["step"] == "_callback"
    assert line["in"] == "_callback"
    assert "cannot use code" in line["message"]
    assert line["frames"][-1].startswith("test_callback.py:")
    assert any(f.startswith("handler.py:") and f.endswith(":_callback") for f in line["frames"])
    for secret in (code, nonce, tx_value, state):
        assert secret not in out


def test_an_error_deep_in_the_edge_names_the_handler_step_and_the_function(site, provider, monkeypatch, capsys):
    from edge_runtime import jws

    def broken(*args, **kwargs):
        raise KeyError("n")

    monkeypatch.setattr(jws, "verify", broken)
    state, nonce, tx, _ = sign_in()
    capsys.readouterr()
    assert callback(state, nonce, tx)["status"] == "500"
    (line,) = log_lines(capsys)
    assert (line["kind"], line["step"]) == ("KeyError", "_callback")
    assert any(f.startswith("oidc.py:") and f.endswith(":verify_id_token") for f in line["frames"])


@pytest.mark.parametrize(
    ("claims", "access", "expected"),
    [
        ({"email_verified": ...}, {}, "claim email_verified missing"),
        ({"email": ..., "email_verified": ...}, {}, "claim email missing"),
        ({"email_verified": False}, {}, "email_verified is false"),
        ({"email": "bob@elsewhere.example"}, {}, "address not listed, domain not listed"),
        (
            {},
            {"emails": [], "email_domains": [], "groups_claim": "groups", "groups": ["viewers"]},
            "claim groups missing",
        ),
    ],
)
def test_a_refusal_logs_which_rule_failed_and_which_claim_was_missing(make_site, provider, capsys, claims, access, expected):
    make_site(access=access)
    provider.id_token_claims = claims
    provider.userinfo = {"sub": "user-1"}
    state, nonce, tx, _ = sign_in()
    capsys.readouterr()
    assert callback(state, nonce, tx)["status"] == "403"
    (refused,) = [line for line in log_lines(capsys) if line["gatehouse"] == "refused"]
    assert refused["at"] == "callback"
    assert refused["sub"] == "user-1"
    assert any(expected in why for why in refused["why"]), refused


def test_a_refused_session_logs_why_too(make_site, capsys):
    cfg = make_site(access={"emails": ["someone@client.example"], "email_domains": []})
    capsys.readouterr()
    assert run(event("/", cookies=[session_for(cfg)]))["status"] == "403"
    (refused,) = [line for line in log_lines(capsys) if line["gatehouse"] == "refused"]
    assert refused["email"] == "ann@client.example"
    assert refused["why"] == ["e-mail rules: address not listed, domain not listed"]


def test_a_callback_refusal_logs_its_reason(site, capsys):
    run(event("/_gatehouse/callback", qs="state=junk&code=x"))
    (line,) = log_lines(capsys)
    assert line == {"gatehouse": "callback_refused", "site": site.site_id, "reason": "state invalid or expired"}


def test_every_log_line_is_one_json_object_without_tokens_codes_or_cookies(site, provider, capsys):
    state, nonce, tx, _ = sign_in()
    session = next(c for c in set_cookies(callback(state, nonce, tx)) if c.startswith(handler.SESSION_COOKIE + "="))
    run(event("/_gatehouse/sign-out", cookies=[cookie_pair(session)]))
    provider.token_status, provider.token_body = 400, {"error": "invalid_grant"}
    state2, nonce2, tx2, _ = sign_in()
    callback(state2, nonce2, tx2)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) >= 5
    for line in lines:
        assert isinstance(json.loads(line), dict)
    for secret in (state, nonce, tx.split("=", 1)[1], cookie_pair(session).split("=", 1)[1], state2, nonce2):
        assert secret not in out


@pytest.mark.parametrize(
    "text",
    [
        "bad cookie __Host-gh-session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln",
        "Authorization: Basic Y2xpZW50OnNlY3JldA==",
        "code=4/0AX4XfWh-short",
        "{'access_token': 'at-1'}",
        "token abcDEFghiJKLmnoPQR",
    ],
)
def test_scrub_removes_what_looks_like_a_secret(text):
    scrubbed = handler.scrub(text)
    for secret in ("eyJhbGciOiJIUzI1NiJ9", "Y2xpZW50OnNlY3JldA", "4/0AX4XfWh", "at-1", "abcDEFghiJKLmnoPQR"):
        assert secret not in scrubbed


def test_scrub_keeps_plain_words_and_caps_the_length():
    assert handler.scrub("KeyError: 'authorization_endpoint'") == "KeyError: 'authorization_endpoint'"
    assert len(handler.scrub("word " * 1000)) == 300


def test_a_providers_error_code_is_scrubbed_before_it_is_logged(site, provider, capsys):
    leaked = "eyJhbGciOiJIUzI1NiJ9Zm9vYmFyMTIz"
    provider.token_status, provider.token_body = 400, {"error": leaked}
    state, nonce, tx, _ = sign_in()
    assert callback(state, nonce, tx)["status"] == "401"
    out = capsys.readouterr().out
    assert "callback_failed" in out
    assert leaked not in out
