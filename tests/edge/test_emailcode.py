"""Sign-in with a code sent by e-mail: the edge's pages, the code, the limits.

SES is replaced here by a recorder of the request body `emailcode._deliver`
would send (tests/edge/test_ses.py sends the real signed call to moto's
server); everything else is the handler on viewer-request events.
"""

import base64
import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from edge_runtime import config, emailcode, handler, ses, tokens
from tests.edge.factories import DELETE, config_doc
from tests.edge.test_handler import DIST, HOST, Context, StaticStore, event

SENDER = "sign-in@consultancy.example"
ANN = "ann@client.example"
EMAIL_SECTION = {
    "sender": SENDER,
    "region": "eu-west-1",
    "code_lifetime_seconds": 600,
    "max_sends_per_transaction": 3,
    "max_sends_per_address": 5,
}


def email_doc(**overrides):
    overrides.setdefault("signin_methods", ["email_code"])
    overrides.setdefault("email_code", EMAIL_SECTION)
    methods = overrides["signin_methods"]
    if not (isinstance(methods, list) and "idp" in methods):
        overrides.setdefault("provider", None)
    return config_doc(**overrides)


class Outbox:
    def __init__(self):
        self.sent = []
        self.fail = False

    def send(self, *, region, body, endpoint_url=None, **kwargs):
        if self.fail:
            raise ses.SendError("SES answered 500: InternalFailure")
        self.sent.append((region, json.loads(body)))
        return "message-1"

    def code_for(self, address):
        for _region, message in reversed(self.sent):
            if message["Destination"]["ToAddresses"] == [address]:
                text = message["Content"]["Simple"]["Body"]["Text"]["Data"]
                return re.search(r"is ([0-9A-Z]{4}-[0-9A-Z]{4})", text).group(1)
        return None


@pytest.fixture
def outbox(monkeypatch):
    box = Outbox()
    monkeypatch.setattr(ses, "send", box.send)
    monkeypatch.setattr(emailcode, "_sleep", lambda seconds: None)
    monkeypatch.setattr(emailcode, "_endpoint_url", lambda: None)
    for table in (emailcode._sends, emailcode._attempts, emailcode._used):
        table.clear()
    return box


@pytest.fixture
def site(monkeypatch):
    monkeypatch.setattr(handler, "_public_origin", lambda host: f"https://{host}")

    def make(**overrides):
        cfg = config.parse(email_doc(**overrides))
        monkeypatch.setattr(handler, "_store", StaticStore(cfg))
        return cfg

    return make


def run(ev):
    return handler.handler(ev, Context())


def post(uri, fields, *, cookies=(), raw=None, encoding="base64"):
    ev = event(uri, method="POST", cookies=cookies)
    data = raw if raw is not None else urlencode(fields).encode()
    if encoding == "base64":
        body = {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": base64.b64encode(data).decode()}
    else:
        body = {"inputTruncated": False, "action": "read-only", "encoding": "text", "data": data.decode()}
    ev["Records"][0]["cf"]["request"]["body"] = body
    return run(ev)


def set_cookies(response):
    return [h["value"] for h in response["headers"].get("set-cookie", [])]


def cookie_value(response, name):
    for line in set_cookies(response):
        if line.startswith(name + "="):
            return line.split(";", 1)[0]
    return None


def hidden_tid(response):
    return re.search(r'name="t" value="([^"]+)"', response["body"]).group(1)


def begin(return_to="/"):
    page = run(event("/_gatehouse/sign-in", qs=urlencode({"r": return_to})))
    assert page["status"] == "200"
    return cookie_value(page, emailcode.COOKIE), hidden_tid(page)


def ask(address, cookie, tid):
    return post("/_gatehouse/sign-in", {"address": address, "t": tid}, cookies=[cookie])


def sign_in(outbox, address=ANN, return_to="/"):
    cookie, tid = begin(return_to)
    sent = ask(address, cookie, tid)
    cookie = cookie_value(sent, emailcode.COOKIE)
    code = outbox.code_for(address)
    return post("/_gatehouse/sign-in/code", {"code": code, "t": tid}, cookies=[cookie]), cookie, tid, code


def visible_text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response["body"])).strip()


# --- the flow --------------------------------------------------------------


def test_a_viewer_without_a_session_is_sent_to_the_edge_sign_in_page(site, outbox):
    site()
    response = run(event("/reports/q3", qs="tab=2"))
    assert response["status"] == "302"
    location = response["headers"]["location"][0]["value"]
    assert location == "/_gatehouse/sign-in?" + urlencode({"r": "/reports/q3?tab=2"})


def test_the_page_is_a_form_posting_to_itself_with_its_own_csp(site, outbox):
    site()
    page = run(event("/_gatehouse/sign-in"))
    assert '<form method="post" action="/_gatehouse/sign-in">' in page["body"]
    csp = page["headers"]["content-security-policy"][0]["value"]
    assert "form-action 'self'" in csp and "form-action 'none'" not in csp
    line = next(c for c in set_cookies(page) if c.startswith(emailcode.COOKIE))
    assert "Secure" in line and "HttpOnly" in line and "SameSite=Lax" in line
    assert "organisation" not in page["body"]  # no provider button on an e-mail-only site


def test_an_allowed_address_gets_a_code_and_signs_in_with_the_same_session_cookie(site, outbox):
    cfg = site()
    response, _cookie, _tid, code = sign_in(outbox, return_to="/reports/q3")
    region, message = outbox.sent[0]
    assert region == "eu-west-1"
    assert message["FromEmailAddress"] == SENDER
    assert message["Destination"] == {"ToAddresses": [ANN]}
    assert code in message["Content"]["Simple"]["Body"]["Html"]["Data"]
    assert response["status"] == "302"
    assert response["headers"]["location"][0]["value"] == "/reports/q3"
    session = cookie_value(response, handler.SESSION_COOKIE).partition("=")[2]
    claims = tokens.verify(cfg, tokens.SESSION, session, time.time())
    assert claims["email"] == ANN and claims["via"] == "email_code" and claims["email_verified"] is True
    assert any(c.startswith(emailcode.COOKIE + "=;") for c in set_cookies(response))
    assert run(event("/", cookies=[f"{handler.SESSION_COOKIE}={session}"]))["uri"] == "/builds/b7/index.html"


def test_an_address_in_an_allowed_domain_gets_a_code(site, outbox):
    site()
    response, *_ = sign_in(outbox, address="bob@consultancy.example")
    assert response["status"] == "302"


def test_an_unlisted_address_gets_the_same_page_and_no_mail(site, outbox):
    site()
    cookie, tid = begin()
    allowed = ask(ANN, cookie, tid)
    cookie2, tid2 = begin()
    unlisted = ask("mallory@evil.example", cookie2, tid2)
    assert len(outbox.sent) == 1
    assert allowed["status"] == unlisted["status"] == "200"
    assert visible_text(allowed).replace(ANN, "X") == visible_text(unlisted).replace("mallory@evil.example", "X")
    assert len(cookie_value(allowed, emailcode.COOKIE)) == pytest.approx(len(cookie_value(unlisted, emailcode.COOKIE)), abs=8)


def test_an_unlisted_address_cannot_sign_in_with_any_code(site, outbox):
    site()
    cookie, tid = begin()
    sent = ask("mallory@evil.example", cookie, tid)
    response = post("/_gatehouse/sign-in/code", {"code": emailcode.new_code(), "t": tid}, cookies=[cookie_value(sent, emailcode.COOKIE)])
    assert response["status"] == "400" and handler.SESSION_COOKIE not in str(set_cookies(response))


def test_allow_any_user_does_not_open_the_email_code_method(site, outbox):
    site(access={"allow_any_user": True})
    cookie, tid = begin()
    ask("anyone@anywhere.example", cookie, tid)
    assert outbox.sent == []


def test_the_code_is_accepted_in_lower_case_and_without_the_dash(site, outbox):
    site()
    cookie, tid = begin()
    sent = ask(ANN, cookie, tid)
    code = outbox.code_for(ANN).replace("-", "").lower()
    response = post("/_gatehouse/sign-in/code", {"code": f" {code} ", "t": tid}, cookies=[cookie_value(sent, emailcode.COOKIE)])
    assert response["status"] == "302"


# --- bad codes -------------------------------------------------------------


def test_a_wrong_code_is_refused_and_the_form_comes_back(site, outbox):
    site()
    cookie, tid = begin()
    sent = ask(ANN, cookie, tid)
    code = outbox.code_for(ANN)
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    response = post("/_gatehouse/sign-in/code", {"code": wrong, "t": tid}, cookies=[cookie_value(sent, emailcode.COOKIE)])
    assert response["status"] == "400" and "not right" in response["body"]
    assert not set_cookies(response)


def test_too_many_wrong_codes_end_the_transaction_in_this_container(site, outbox):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    for _ in range(emailcode.MAX_ATTEMPTS):
        post("/_gatehouse/sign-in/code", {"code": "0000-0000", "t": tid}, cookies=[tx])
    last = post("/_gatehouse/sign-in/code", {"code": outbox.code_for(ANN), "t": tid}, cookies=[tx])
    assert last["status"] == "400" and "Start again" in last["body"]


def test_an_expired_code_is_refused(site, outbox, monkeypatch):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    later = time.time() + EMAIL_SECTION["code_lifetime_seconds"] + 1
    monkeypatch.setattr(handler.time, "time", lambda: later)
    response = post("/_gatehouse/sign-in/code", {"code": outbox.code_for(ANN), "t": tid}, cookies=[tx])
    assert response["status"] == "400" and "expired" in response["body"]


def test_a_used_code_is_refused_even_with_the_old_cookie(site, outbox):
    site()
    response, tx, tid, code = sign_in(outbox)
    assert response["status"] == "302"
    again = post("/_gatehouse/sign-in/code", {"code": code, "t": tid}, cookies=[tx])
    assert again["status"] == "400" and handler.SESSION_COOKIE not in str(set_cookies(again))


def test_a_code_from_another_transaction_is_refused(site, outbox):
    site()
    cookie_a, tid_a = begin()
    ask(ANN, cookie_a, tid_a)
    code_a = outbox.code_for(ANN)
    cookie_b, tid_b = begin()
    tx_b = cookie_value(ask(ANN, cookie_b, tid_b), emailcode.COOKIE)
    if outbox.code_for(ANN) == code_a:
        pytest.skip("the two random codes collided")
    response = post("/_gatehouse/sign-in/code", {"code": code_a, "t": tid_b}, cookies=[tx_b])
    assert response["status"] == "400" and "not right" in response["body"]


def test_a_form_without_the_cookies_transaction_id_starts_afresh(site, outbox):
    site()
    cookie, tid = begin()
    _other_cookie, other_tid = begin()
    response = ask(ANN, cookie, other_tid)
    assert response["status"] == "400" and outbox.sent == []


def test_a_post_without_the_transaction_cookie_starts_afresh(site, outbox):
    # A cross-site form post: SameSite=Lax keeps the cookie at home.
    site()
    _cookie, tid = begin()
    response = post("/_gatehouse/sign-in", {"address": ANN, "t": tid})
    assert response["status"] == "400" and outbox.sent == []
    assert any(c.startswith(emailcode.COOKIE + "=;") for c in set_cookies(response))


# --- bad addresses ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "a" * 250 + "@client.example",
        "ann@client.example\r\nBcc: everyone@client.example",
        "ann@client.example\nX: y",
        "Ann <ann@client.example>",
        "ann@client.example, bob@client.example",
        "ann@client.example;bob@client.example",
        "ann",
        "",
        "ann@@client.example",
        "ann@client..example",
        "ännchen@client.example",
        "ann@client.example\x00",
    ],
)
def test_a_malformed_address_gets_the_form_again_and_no_mail(site, outbox, address):
    site(access={"email_domains": ["client.example"]})
    cookie, tid = begin()
    response = ask(address, cookie, tid)
    assert response["status"] == "400"
    assert outbox.sent == []
    assert "look like an e-mail address" in response["body"]


# --- rate limits -----------------------------------------------------------


def test_a_transaction_sends_at_most_its_limit(site, outbox):
    site()
    cookie, tid = begin()
    for _ in range(EMAIL_SECTION["max_sends_per_transaction"]):
        response = ask(ANN, cookie, tid)
        assert response["status"] == "200"
        cookie = cookie_value(response, emailcode.COOKIE)
    refused = ask(ANN, cookie, tid)
    assert refused["status"] == "400" and "Too many codes" in refused["body"]
    assert len(outbox.sent) == EMAIL_SECTION["max_sends_per_transaction"]


def test_an_address_gets_at_most_its_limit_per_container_across_transactions(site, outbox):
    site()
    pages = []
    for _ in range(EMAIL_SECTION["max_sends_per_address"] + 2):
        cookie, tid = begin()
        pages.append(ask(ANN, cookie, tid))
    assert len(outbox.sent) == EMAIL_SECTION["max_sends_per_address"]
    # The limited answer is the same page: the limit says nothing about the list.
    assert visible_text(pages[-1]) == visible_text(pages[0])


def test_a_failed_send_is_a_small_503_page(site, outbox):
    site()
    outbox.fail = True
    cookie, tid = begin()
    response = ask(ANN, cookie, tid)
    assert response["status"] == "503" and "could not be sent" in response["body"]


# --- no side effect on GET -------------------------------------------------


def test_get_on_the_code_path_does_nothing_but_redirect(site, outbox):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    response = run(event("/_gatehouse/sign-in/code", qs="code=" + outbox.code_for(ANN), cookies=[tx]))
    assert response["status"] == "302" and not set_cookies(response)
    # The code still works afterwards: a scanner fetching links used up nothing.
    assert post("/_gatehouse/sign-in/code", {"code": outbox.code_for(ANN), "t": tid}, cookies=[tx])["status"] == "302"


def test_the_message_holds_no_link_with_a_secret(site, outbox):
    site()
    cookie, tid = begin()
    ask(ANN, cookie, tid)
    content = outbox.sent[0][1]["Content"]["Simple"]["Body"]
    for part in (content["Text"]["Data"], content["Html"]["Data"]):
        assert "href" not in part and "http" not in part


# --- both methods ----------------------------------------------------------


def test_with_both_methods_the_page_offers_the_provider(site, outbox):
    doc = email_doc(signin_methods=["idp", "email_code"], provider=config_doc()["provider"])
    cfg = config.parse(doc)
    handler._store = StaticStore(cfg)
    try:
        page = run(event("/_gatehouse/sign-in", qs="r=%2Fx"))
        assert 'href="/_gatehouse/sign-in/idp?r=%2Fx"' in page["body"]
        start = run(event("/_gatehouse/sign-in/idp", qs="r=%2Fx"))
        assert start["status"] == "302"
        assert start["headers"]["location"][0]["value"].startswith("https://idp.example/authorize?")
    finally:
        handler._store = None


def test_an_email_code_session_is_refused_once_the_method_is_turned_off(site, outbox, monkeypatch):
    site()
    response, *_ = sign_in(outbox)
    session = cookie_value(response, handler.SESSION_COOKIE)
    cfg = config.parse(config_doc())  # the provider only, same keys
    monkeypatch.setattr(handler, "_store", StaticStore(cfg))
    assert run(event("/", cookies=[session]))["status"] == "403"


def test_a_provider_claim_named_via_does_not_pass_for_an_email_code_session():
    cfg = config.parse(email_doc(signin_methods=["idp", "email_code"], provider=config_doc()["provider"]))
    claims = {"sub": "x", "email": ANN, "email_verified": False, "via": "email_code"}
    assert handler.allowed(cfg, claims) is True  # a session's claims: the edge wrote `via`
    # ...which is why the callback drops a provider's `via` (see _callback).
    assert "claims.pop(\"via\", None)" in open(handler.__file__).read()


def test_an_idp_only_site_has_no_email_pages(monkeypatch):
    cfg = config.parse(config_doc())
    monkeypatch.setattr(handler, "_store", StaticStore(cfg))
    monkeypatch.setattr(handler, "_public_origin", lambda host: f"https://{host}")
    ev = event("/_gatehouse/sign-in", method="POST")
    assert run(ev)["status"] == "404"


# --- the arithmetic the docs state -----------------------------------------


def test_the_code_space_keeps_guessing_under_one_in_a_million():
    guesses = 1000 * config.MAX_CODE_LIFETIME
    space = len(config.CODE_ALPHABET) ** config.CODE_LENGTH
    assert len(set(config.CODE_ALPHABET)) == 32
    assert guesses / space < 1e-6


def test_codes_use_the_whole_alphabet():
    seen = set("".join(emailcode.new_code() for _ in range(200)))
    assert seen == set(config.CODE_ALPHABET)
