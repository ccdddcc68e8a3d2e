"""Share links at the edge: a valid link gives a session and a redirect without
its token; every bad link gets a small page; a link's sessions end with the
link (revoked, expired) and with "sign everyone out"."""

import base64
import hashlib
import json
import secrets
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_runtime import config, handler, sharelinks, tokens
from tests.edge.factories import KEY_B, config_doc
from tests.edge.test_handler import HOST, Context, StaticStore, event

LINK_ID = "bm12DecAb3_-"
SECRET = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()
OTHER_ID = "q3ReviewXy9Z"
OTHER_SECRET = base64.urlsafe_b64encode(bytes(range(50, 82))).rstrip(b"=").decode()


def stamp(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def verifier(secret):
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).rstrip(b"=").decode()


def link_entry(link_id=LINK_ID, secret=SECRET, *, expires_in=7 * 86400):
    return {"id": link_id, "verifier": verifier(secret), "expires_at": stamp(time.time() + expires_in)}


def link_doc(links=None, **overrides):
    return config_doc(share_links=[link_entry()] if links is None else links, **overrides)


def use(monkeypatch, doc, path, **kw):
    monkeypatch.setattr(handler, "_store", StaticStore(config.parse(doc)))
    monkeypatch.setattr(handler, "_public_origin", lambda host: f"https://{host}")
    return handler.handler(event(path, **kw), Context())


def link_path(link_id=LINK_ID, secret=SECRET):
    return f"{config.SHARE_LINK_PREFIX}{link_id}.{secret}"


def session_cookie(response):
    for entry in response["headers"].get("set-cookie", []):
        if entry["value"].startswith(handler.SESSION_COOKIE + "="):
            return entry["value"].split(";")[0], entry["value"]
    return None, None


def visit_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"visit":1' in line]


# --- the config -------------------------------------------------------------------------------


def test_the_validator_accepts_links_and_parses_them_once():
    cfg = config.parse(link_doc())
    digest, expires = cfg.share_links[LINK_ID]
    assert digest == hashlib.sha256(SECRET.encode()).digest()
    assert expires > time.time()


@pytest.mark.parametrize(
    "links, where",
    [
        ("nope", "share_links"),
        ([{"id": "short", "verifier": verifier(SECRET), "expires_at": "2030-01-01T00:00:00Z"}], "share_links[0].id"),
        ([{"id": LINK_ID, "verifier": "abc", "expires_at": "2030-01-01T00:00:00Z"}], "share_links[0].verifier"),
        ([{"id": LINK_ID, "verifier": verifier(SECRET), "expires_at": "next week"}], "share_links[0].expires_at"),
        ([{"id": LINK_ID, "verifier": verifier(SECRET), "expires_at": "2030-01-01T00:00:00Z", "secret": SECRET}],
         "share_links[0].secret"),
        ([link_entry(), link_entry()], "share_links[1].id"),
        ([link_entry(f"{i:012d}") for i in range(config.MAX_SHARE_LINKS + 1)], "share_links"),
    ],
)
def test_the_validator_refuses_bad_links(links, where):
    with pytest.raises(config.ConfigError) as caught:
        config.validate(link_doc(links))
    assert any(e.startswith(where + ":") for e in caught.value.errors), caught.value.errors


def test_an_older_schema_may_not_carry_links():
    with pytest.raises(config.ConfigError, match="needs schema version 3"):
        config.validate(link_doc(schema_version=2))
    assert "share_links" not in config.for_schema(link_doc(), 2)


def test_a_callback_path_under_the_link_prefix_is_refused():
    with pytest.raises(config.ConfigError, match="paths.callback"):
        config.validate(link_doc(paths={"callback": "/_gatehouse/link/x"}))


# --- a valid link -------------------------------------------------------------------------------


def test_a_valid_link_sets_a_session_and_redirects_without_the_token(monkeypatch, capsys):
    response = use(monkeypatch, link_doc(), link_path())
    assert response["status"] == "302"
    location = response["headers"]["location"][0]["value"]
    assert location == "/" and SECRET not in location and LINK_ID not in location
    assert response["headers"]["referrer-policy"][0]["value"] == "no-referrer"
    cookie, line = session_cookie(response)
    assert cookie and "HttpOnly" in line and "Secure" in line
    claims = tokens.verify(handler._store.cfg, tokens.SESSION, cookie.partition("=")[2], time.time())
    assert claims["via"] == "share_link" and claims["link"] == LINK_ID
    assert SECRET not in json.dumps(claims)
    (visit,) = visit_lines(capsys)
    assert visit["gatehouse"] == "signed_in" and visit["method"] == "share_link" and visit["link"] == LINK_ID
    assert SECRET not in json.dumps(visit)


def test_the_link_session_opens_the_site(monkeypatch):
    doc = link_doc()
    cookie, _ = session_cookie(use(monkeypatch, doc, link_path()))
    request = use(monkeypatch, doc, "/reports/q3", cookies=[cookie])
    assert "status" not in request  # forwarded to the origin
    me = use(monkeypatch, doc, handler.ME_PATH, cookies=[cookie], navigate=False)
    assert json.loads(me["body"])["via"] == "share_link"


def test_a_site_header_cannot_loosen_the_referrer_policy_of_the_link_answer(monkeypatch):
    doc = link_doc(headers={"referrer-policy": "unsafe-url"})
    response = use(monkeypatch, doc, link_path())
    assert response["headers"]["referrer-policy"] == [{"key": "Referrer-Policy", "value": "no-referrer"}]


def test_a_mail_scanner_using_the_link_first_uses_nothing_up(monkeypatch):
    doc = link_doc()
    first = use(monkeypatch, doc, link_path(), method="HEAD")
    second = use(monkeypatch, doc, link_path())
    assert first["status"] == second["status"] == "302"
    assert session_cookie(second)[0]


def test_the_session_ends_no_later_than_the_link(monkeypatch):
    doc = link_doc([link_entry(expires_in=600)])  # shorter than the site's 8 hour sessions
    response = use(monkeypatch, doc, link_path())
    cookie, line = session_cookie(response)
    claims = tokens.verify(handler._store.cfg, tokens.SESSION, cookie.partition("=")[2], time.time())
    assert claims["exp"] <= time.time() + 600
    max_age = int(line.split("Max-Age=")[1].split(";")[0])
    assert 590 <= max_age <= 600
    # Past the link's expiry the session no longer verifies.
    assert tokens.verify(handler._store.cfg, tokens.SESSION, cookie.partition("=")[2], time.time() + 601) is None


def test_a_long_link_still_gets_the_sites_session_lifetime(monkeypatch):
    response = use(monkeypatch, link_doc([link_entry(expires_in=30 * 86400)]), link_path())
    _, line = session_cookie(response)
    assert int(line.split("Max-Age=")[1].split(";")[0]) <= 28800


# --- bad links ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, path, status",
    [
        ("unknown", link_path(OTHER_ID, OTHER_SECRET), "401"),
        ("tampered", link_path(LINK_ID, SECRET[:-1] + ("A" if SECRET[-1] != "A" else "B")), "401"),
        ("another link's secret", link_path(LINK_ID, OTHER_SECRET), "401"),
        ("malformed: no secret", config.SHARE_LINK_PREFIX + LINK_ID, "400"),
        ("malformed: too long", link_path() + "A", "400"),
        ("malformed: bad characters", link_path(LINK_ID, "*" * 43), "400"),
        ("malformed: nothing", config.SHARE_LINK_PREFIX, "400"),
    ],
)
def test_a_bad_link_gets_a_small_page_and_no_session(monkeypatch, capsys, name, path, status):
    response = use(monkeypatch, link_doc(), path)
    assert response["status"] == status, name
    assert session_cookie(response)[0] is None
    assert len(response["body"]) < 4096 and "Traceback" not in response["body"]
    assert response["headers"]["referrer-policy"][0]["value"] == "no-referrer"
    out = capsys.readouterr().out
    assert SECRET not in out and OTHER_SECRET not in out


def test_a_revoked_link_is_refused(monkeypatch, capsys):
    response = use(monkeypatch, link_doc([]), link_path())  # revocation drops it from the config
    assert response["status"] == "401"
    assert "no longer works" in response["body"]
    (visit,) = visit_lines(capsys)
    assert visit["gatehouse"] == "refused" and visit["link"] == LINK_ID and visit["why"] == ["share link unknown or revoked"]


def test_an_expired_link_is_refused(monkeypatch):
    response = use(monkeypatch, link_doc([link_entry(expires_in=-1)]), link_path())
    assert response["status"] == "401"
    assert session_cookie(response)[0] is None


def test_a_post_to_a_link_is_refused(monkeypatch):
    assert use(monkeypatch, link_doc(), link_path(), method="POST")["status"] == "405"


def test_outside_the_access_window_the_link_gives_no_session(monkeypatch):
    doc = link_doc(access={"not_after": stamp(time.time() - 60)})
    response = use(monkeypatch, doc, link_path())
    assert response["status"] == "403" and session_cookie(response)[0] is None


# --- sessions ending ----------------------------------------------------------------------------


def test_revoking_the_link_ends_its_sessions(monkeypatch):
    cookie, _ = session_cookie(use(monkeypatch, link_doc(), link_path()))
    # The next config lists the other link only: the session is refused.
    response = use(monkeypatch, link_doc([link_entry(OTHER_ID, OTHER_SECRET)]), "/", cookies=[cookie])
    assert response["status"] == "401" and "no longer works" in response["body"]
    # The dead session cookie is cleared.
    assert any(c["value"].startswith(handler.SESSION_COOKIE + "=;") for c in response["headers"]["set-cookie"])


def test_sign_everyone_out_ends_a_link_session(monkeypatch):
    cookie, _ = session_cookie(use(monkeypatch, link_doc(), link_path()))
    # "Sign everyone out": a new key only, and revoked_at.
    signed_out = link_doc(session={"current_kid": "s2", "keys": {"s2": KEY_B}, "revoked_at": stamp(time.time() + 1)})
    response = use(monkeypatch, signed_out, "/", cookies=[cookie])
    assert response["status"] == "302"  # sent to sign in again, not let through
    assert response["headers"]["location"][0]["value"].startswith("https://idp.example/authorize")


def test_a_link_session_from_before_the_revocation_is_refused_even_under_a_kept_key():
    cfg = config.parse(link_doc(session={"revoked_at": stamp(time.time() + 5)}))
    claims = sharelinks.session_claims(cfg, LINK_ID, time.time() + 3600, time.time())
    assert not handler.allowed(cfg, claims)
    later = sharelinks.session_claims(cfg, LINK_ID, time.time() + 3600, time.time() + 10)
    assert handler.allowed(cfg, later)


def test_a_provider_claim_cannot_pass_for_a_link_session():
    cfg = config.parse(link_doc())
    assert not handler.allowed(cfg, {"sub": "x", "via": "share_link", "link": OTHER_ID, "iat": int(time.time())})
    assert not handler.allowed(cfg, {"sub": "x", "via": "share_link", "iat": int(time.time())})


# --- fuzz ---------------------------------------------------------------------------------------

FUZZ_CFG = config.parse(link_doc())
token_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tail=st.one_of(
        token_text,
        st.builds(lambda a, b: f"{a}.{b}", st.text("abcAB0_-", min_size=12, max_size=12), token_text),
        st.just(f"{LINK_ID}.{SECRET}"),
    ),
    encode=st.booleans(),
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS"]),
)
def test_any_token_path_is_never_a_5xx(monkeypatch, tail, encode, method):
    from urllib.parse import quote

    monkeypatch.setattr(handler, "_store", StaticStore(FUZZ_CFG))
    uri = config.SHARE_LINK_PREFIX + (quote(tail, safe="") if encode else tail.replace(" ", "%20"))
    response = handler.handler(event(uri, method=method), Context())
    assert int(response["status"]) < 500, response
    assert len(response.get("body", "")) < 32 * 1024
    if response["status"] == "302" and session_cookie(response)[0]:
        assert tail == f"{LINK_ID}.{SECRET}"


def test_the_secret_is_random_enough_for_a_plain_hash():
    # 32 bytes from secrets: the console's link; 43 base64url characters, as parse() wants.
    secret = secrets.token_urlsafe(32)
    assert len(secret) == config.SHARE_LINK_SECRET_LENGTH
    assert sharelinks.parse(config.SHARE_LINK_PREFIX + "A" * 12 + "." + secret) == ("A" * 12, secret)
