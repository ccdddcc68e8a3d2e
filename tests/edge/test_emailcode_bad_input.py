"""E-mail code sign-in: the bad inputs tests/edge/test_emailcode.py does not
already cover. A tampered, foreign or lapsed transaction cookie, a repeated
field, more header-injection shapes; and SES's own request builder refusing
anything but one bare address, so no path reaches SES with an injected one.

Wrong, expired, reused and other-transaction codes, CR/LF, commas, display
names and over-long addresses are in test_emailcode.py.
"""

import json
import time
from urllib.parse import urlencode

import pytest

from edge_runtime import emailcode, handler, ses
from tests.edge.test_emailcode import (  # noqa: F401
    ANN,
    EMAIL_SECTION,
    ask,
    begin,
    cookie_value,
    email_doc,
    outbox,
    post,
    run,
    set_cookies,
    site,
)


def _tamper(cookie):
    """The cookie with one character of its payload changed (name=header.payload.mac)."""
    name, _, token = cookie.partition("=")
    header, payload, mac = token.split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    return f"{name}={header}.{payload[:middle]}{swapped}{payload[middle + 1:]}.{mac}"


def _no_session(response):
    return not any(c.startswith(handler.SESSION_COOKIE + "=") and not c.startswith(handler.SESSION_COOKIE + "=;")
                   for c in set_cookies(response))


def test_a_tampered_transaction_cookie_sends_nothing(site, outbox):
    site()
    cookie, tid = begin()
    response = ask(ANN, _tamper(cookie), tid)
    assert response["status"] == "400" and "Start again" in response["body"]
    assert outbox.sent == []


def test_a_tampered_transaction_cookie_cannot_sign_in_even_with_the_right_code(site, outbox):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    code = outbox.code_for(ANN)
    response = post("/_gatehouse/sign-in/code", {"code": code, "t": tid}, cookies=[_tamper(tx)])
    assert response["status"] == "400" and _no_session(response)
    # The untouched cookie still works: tampering did not spend it.
    assert post("/_gatehouse/sign-in/code", {"code": code, "t": tid}, cookies=[tx])["status"] == "302"


def test_a_cookie_whose_mac_is_cut_off_is_refused(site, outbox):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    response = post("/_gatehouse/sign-in/code", {"code": outbox.code_for(ANN), "t": tid}, cookies=[tx.rsplit(".", 1)[0] + "."])
    assert response["status"] == "400" and _no_session(response)


def test_a_transaction_from_another_site_is_refused(site, outbox, monkeypatch):
    other_keys = {"current_kid": "o1", "keys": {"o1": "b3RoZXItc2l0ZS1rZXktMDEyMzQ1Njc4OWFiY2RlZmdo"}, "lifetime_seconds": 3600}
    other = site(session=other_keys)
    page_other = run(_get_sign_in())
    foreign = cookie_value(page_other, emailcode.COOKIE)
    tid = _hidden(page_other)
    assert other.current_kid == "o1"
    site()  # this site, its own keys
    response = ask(ANN, foreign, tid)
    assert response["status"] == "400" and outbox.sent == []


def _get_sign_in():
    from tests.edge.test_handler import event

    return event("/_gatehouse/sign-in", qs=urlencode({"r": "/"}))


def _hidden(response):
    import re

    return re.search(r'name="t" value="([^"]+)"', response["body"]).group(1)


def test_a_sign_in_page_left_open_past_its_lifetime_sends_nothing(site, outbox, monkeypatch):
    site()
    cookie, tid = begin()
    later = time.time() + emailcode.ADDRESS_TTL + 1
    monkeypatch.setattr(handler.time, "time", lambda: later)
    response = ask(ANN, cookie, tid)
    assert response["status"] == "400" and "expired" in response["body"]
    assert outbox.sent == []


def test_a_code_page_used_after_the_code_lapsed_starts_again_and_sends_nothing_new(site, outbox, monkeypatch):
    site()
    cookie, tid = begin()
    tx = cookie_value(ask(ANN, cookie, tid), emailcode.COOKIE)
    later = time.time() + EMAIL_SECTION["code_lifetime_seconds"] + 1
    monkeypatch.setattr(handler.time, "time", lambda: later)
    again = ask(ANN, tx, tid)
    assert again["status"] == "400" and len(outbox.sent) == 1


def test_the_address_field_twice_is_refused_and_nothing_is_sent(site, outbox):
    site(access={"email_domains": ["client.example"]})
    cookie, tid = begin()
    raw = urlencode([("t", tid), ("address", ANN), ("address", "bob@client.example")]).encode()
    response = post("/_gatehouse/sign-in", {}, cookies=[cookie], raw=raw)
    assert response["status"] == "400" and outbox.sent == []


@pytest.mark.parametrize(
    "address",
    [
        "ann@client.example\tbob@client.example",
        "ann@client.example bob@client.example",
        "ann@client.example\u2028bcc@client.example",
        "=?utf-8?q?ann=0D=0ABcc:_x@client.example?=@client.example",
        "x" * 65 + "@client.example",
        "ann@" + "a" * 250 + ".example",
    ],
)
def test_more_injection_shapes_get_the_form_again_and_no_mail(site, outbox, address):
    site(access={"email_domains": ["client.example"]})
    cookie, tid = begin()
    response = ask(address, cookie, tid)
    assert outbox.sent == []
    assert response["status"] in ("200", "400")  # refused, or (for a shape that is one odd address) not allowed


@pytest.mark.parametrize(
    "to",
    [
        "ann@client.example\r\nBcc: all@client.example",
        "ann@client.example\n",
        "ann@client.example, bob@client.example",
        "ann@client.example;bob@client.example",
        "Ann <ann@client.example>",
        "ann@client.example bob@client.example",
        "ann",
        "ännchen@client.example",
        "a" * 250 + "@client.example",
        None,
        ["ann@client.example", "bob@client.example"],
    ],
)
def test_the_ses_request_is_never_built_for_anything_but_one_bare_address(to):
    with pytest.raises(ses.SendError):
        ses.message_body(sender="sign-in@consultancy.example", to=to, subject="s", text="t", html="h")


def test_the_ses_request_refuses_a_line_break_in_the_subject():
    with pytest.raises(ses.SendError):
        ses.message_body(sender="sign-in@consultancy.example", to=ANN, subject="code\r\nBcc: x@y.example", text="t", html="h")


def test_a_plain_address_is_one_destination():
    body = json.loads(ses.message_body(sender="sign-in@consultancy.example", to=ANN, subject="s", text="t", html="h"))
    assert body["Destination"] == {"ToAddresses": [ANN]}


def test_a_refused_request_build_is_the_small_503_page_not_a_5xx_crash(site, outbox, monkeypatch):
    # Even if the address check upstream were ever loosened, the builder stops it.
    site()
    monkeypatch.setattr(emailcode, "normalise_address", lambda text: "ann@client.example, eve@evil.example")
    monkeypatch.setattr(emailcode, "admits", lambda cfg, address: True)
    cookie, tid = begin()
    response = ask(ANN, cookie, tid)
    assert response["status"] == "503" and outbox.sent == []
