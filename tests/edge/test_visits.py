"""Visit lines: one per sign-in, refusal and session start, without a token, code or cookie."""

import json

from edge_runtime import handler
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

FROM_OUTSIDE = {"sec-fetch-site": [{"key": "Sec-Fetch-Site", "value": "none"}]}
WITHIN = {"sec-fetch-site": [{"key": "Sec-Fetch-Site", "value": "same-origin"}]}


def visits(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [line for line in lines if line.get("visit") == 1]


def test_a_sign_in_writes_one_signed_in_line_with_who_how_where_and_when(site, provider, capsys):
    state, nonce, tx, _ = sign_in()
    capsys.readouterr()
    response = callback(state, nonce, tx)
    assert response["status"] == "302"
    (line,) = visits(capsys)
    assert line["gatehouse"] == "signed_in"
    assert line["site"] == site.site_id and line["host"] == HOST
    assert line["method"] == "oidc"
    assert line["sub"] == "user-1" and line["email"] == "ann@client.example"
    assert line["time"].endswith("Z") and len(line["time"]) == 20
    session = next(c for c in set_cookies(response) if c.startswith(handler.SESSION_COOKIE))
    for secret in (state, nonce, tx.split("=", 1)[1], cookie_pair(session).split("=", 1)[1]):
        assert secret not in json.dumps(line)


def test_opening_the_site_from_outside_with_a_session_is_a_session_start(site, capsys):
    cookie = session_for(site)
    capsys.readouterr()
    assert run(event("/", cookies=[cookie], headers=FROM_OUTSIDE))["uri"]
    (line,) = visits(capsys)
    assert line["gatehouse"] == "session_start" and line["email"] == "ann@client.example"
    assert cookie.split("=", 1)[1] not in json.dumps(line)


def test_a_click_within_the_site_or_an_asset_request_is_not_a_session_start(site, capsys):
    cookie = session_for(site)
    capsys.readouterr()
    run(event("/about", cookies=[cookie], headers=WITHIN))
    run(event("/app.js", cookies=[cookie], headers=FROM_OUTSIDE, navigate=False))
    run(event("/", cookies=[cookie]))  # no fetch metadata at all
    assert visits(capsys) == []


def test_a_refused_session_says_who_and_which_rule(make_site, capsys):
    cfg = make_site(access={"emails": ["someone@client.example"], "email_domains": []})
    capsys.readouterr()
    assert run(event("/", cookies=[session_for(cfg)]))["status"] == "403"
    (line,) = visits(capsys)
    assert line["gatehouse"] == "refused" and line["at"] == "session" and line["host"] == HOST
    assert line["email"] == "ann@client.example"
    assert line["why"] == ["e-mail rules: address not listed, domain not listed"]


def test_a_refusal_after_access_ended_names_the_viewer_when_the_browser_has_a_session(make_site, capsys):
    cfg = make_site(access={"not_after": "2001-01-01T00:00:00Z"})
    capsys.readouterr()
    assert run(event("/", cookies=[session_for(cfg)]))["status"] == "403"
    (line,) = visits(capsys)
    assert line["why"] == ["after the access window (not_after)"]
    assert line["email"] == "ann@client.example"
