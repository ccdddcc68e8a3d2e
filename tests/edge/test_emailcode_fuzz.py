"""Whatever a browser sends to the e-mail code pages, the answer is a small
page or a fresh start, never a 5xx (hypothesis)."""

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_runtime import config, emailcode, handler
from tests.edge.test_emailcode import email_doc, post
from tests.edge.test_handler import Context, StaticStore, event

CFG = config.parse(email_doc())
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
cookie_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)


def _with_site(monkeypatch):
    monkeypatch.setattr(handler, "_store", StaticStore(CFG))
    monkeypatch.setattr(emailcode, "_sleep", lambda s: None)
    monkeypatch.setattr(emailcode, "_endpoint_url", lambda: None)


def _ok(response):
    assert int(response["status"]) < 500, response
    assert len(response.get("body", "")) < 32 * 1024


@SETTINGS
@given(cookie=cookie_text, path=st.sampled_from([emailcode.START_PATH, emailcode.CODE_PATH]))
def test_any_cookie_with_any_form_is_never_a_5xx(monkeypatch, cookie, path):
    _with_site(monkeypatch)
    _ok(post(path, {"address": "ann@client.example", "code": "ABCD-EFGH", "t": "x"}, cookies=[cookie]))
    _ok(post(path, {}, cookies=[f"{emailcode.COOKIE}={cookie}"]))
    _ok(handler.handler(event(path, cookies=[f"{emailcode.COOKIE}={cookie}"]), Context()))


@SETTINGS
@given(raw=st.binary(max_size=3000), encoding=st.sampled_from(["base64", "text", "other"]), truncated=st.booleans())
def test_any_body_is_never_a_5xx(monkeypatch, raw, encoding, truncated):
    _with_site(monkeypatch)
    page = handler.handler(event(emailcode.START_PATH), Context())
    cookie = next(c for c in (h["value"] for h in page["headers"]["set-cookie"]) if c.startswith(emailcode.COOKIE)).split(";")[0]
    for path in (emailcode.START_PATH, emailcode.CODE_PATH):
        ev = event(path, method="POST", cookies=[cookie])
        data = base64.b64encode(raw).decode() if encoding == "base64" else raw.decode("latin-1")
        ev["Records"][0]["cf"]["request"]["body"] = {"inputTruncated": truncated, "encoding": encoding, "data": data}
        _ok(handler.handler(ev, Context()))


@SETTINGS
@given(address=st.text(max_size=400), code=st.text(max_size=60), t=st.text(max_size=40))
def test_any_field_values_are_never_a_5xx(monkeypatch, address, code, t):
    _with_site(monkeypatch)
    _ok(post(emailcode.START_PATH, {"address": address, "t": t}))
    _ok(post(emailcode.CODE_PATH, {"code": code, "t": t}))
    assert emailcode.normalise_address(address) is None or "\n" not in address.strip()


@SETTINGS
@given(body=st.one_of(st.none(), st.integers(), st.text(), st.lists(st.text()), st.dictionaries(st.text(), st.text())))
def test_a_body_of_any_shape_is_never_a_5xx(monkeypatch, body):
    _with_site(monkeypatch)
    ev = event(emailcode.CODE_PATH, method="POST")
    ev["Records"][0]["cf"]["request"]["body"] = body
    _ok(handler.handler(ev, Context()))
