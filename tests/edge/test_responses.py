"""Responses the edge generates: pages, redirects, JSON and cookies."""

import html
import json
import re

import pytest

from edge_runtime import config, responses
from edge_runtime.responses import cookie, expired_cookie, json_response, page, redirect
from tests.edge.factories import config_doc, site_config

LIMIT = 40 * 1024
XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&amp;"


def size(response):
    """Bytes of the response as Lambda hands it to CloudFront."""
    return len(json.dumps(response, ensure_ascii=False).encode("utf-8"))


def header(response, name):
    return [entry["value"] for entry in response["headers"].get(name, [])]


@pytest.fixture
def cfg():
    return site_config(
        headers={
            "strict-transport-security": "max-age=63072000; includeSubDomains",
            "x-frame-options": "SAMEORIGIN",
            "permissions-policy": "camera=()",
        }
    )


def all_kinds(cfg, cookies=()):
    return [
        page(cfg, 403, "No access", ["You may not open this demo."], cookies=cookies),
        page(cfg, 404, "Not found", ["There is nothing at this address."], cookies=cookies),
        redirect(cfg, "/somewhere?x=1", cookies=cookies),
        json_response(cfg, 401, {"error": "sign_in_required"}, cookies=cookies),
    ]


# --- shape --------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(responses.STATUS_TEXT))
def test_a_page_has_cloudfronts_generated_response_shape(cfg, status):
    response = page(cfg, status, "Title", ["text"])
    assert response["status"] == str(status)
    assert isinstance(response["status"], str)
    assert response["statusDescription"] == responses.STATUS_TEXT[status]
    assert isinstance(response["body"], str)
    assert set(response) == {"status", "statusDescription", "headers", "body"}


def test_every_generated_response_has_lower_case_keys_with_key_value_lists(cfg):
    for response in all_kinds(cfg, cookies=["a=1; Path=/"]):
        for name, entries in response["headers"].items():
            assert name == name.lower()
            assert isinstance(entries, list) and entries
            for entry in entries:
                assert set(entry) == {"key", "value"}
                assert entry["key"].lower() == name
                assert isinstance(entry["value"], str)
                assert not re.search(r"[\r\n\x00]", entry["value"])
        json.dumps(response)  # Lambda must be able to serialise it


def test_a_redirect_is_a_302_with_a_location_and_no_body(cfg):
    response = redirect(cfg, "https://idp.example/authorize?state=s")
    assert response["status"] == "302"
    assert response["statusDescription"] == "Found"
    assert header(response, "location") == ["https://idp.example/authorize?state=s"]
    assert response["headers"]["location"][0]["key"] == "Location"
    assert "body" not in response


def test_a_json_response_is_compact_json_with_its_content_type(cfg):
    response = json_response(cfg, 401, {"error": "sign_in_required", "n": [1, 2]})
    assert response["status"] == "401" and response["statusDescription"] == "Unauthorized"
    assert header(response, "content-type") == ["application/json"]
    assert response["body"] == '{"error":"sign_in_required","n":[1,2]}'


def test_json_response_escapes_markup_characters_safely_for_json(cfg):
    response = json_response(cfg, 200, {"name": XSS, "who": "\u00c5sa\u2028"})
    assert json.loads(response["body"]) == {"name": XSS, "who": "\u00c5sa\u2028"}
    assert response["body"].isascii()


def test_a_page_is_utf8_html(cfg):
    response = page(cfg, 200, "Signed out", ["Bye"])
    assert header(response, "content-type") == ["text/html; charset=utf-8"]
    body = response["body"]
    assert body.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in body
    assert "<title>Signed out</title>" in body and "<h1>Signed out</h1>" in body
    assert "<p>Bye</p>" in body


# --- headers ----------------------------------------------------------------------------


def test_every_generated_response_is_never_cached(cfg):
    for response in all_kinds(cfg) + all_kinds(None):
        assert header(response, "cache-control") == ["no-store"]
        assert response["headers"]["cache-control"][0]["key"] == "Cache-Control"


def test_the_sites_security_headers_are_applied_to_every_generated_response(cfg):
    for response in all_kinds(cfg):
        assert header(response, "strict-transport-security") == ["max-age=63072000; includeSubDomains"]
        assert response["headers"]["strict-transport-security"][0]["key"] == "Strict-Transport-Security"
        assert header(response, "permissions-policy") == ["camera=()"]
        # a configured header replaces the default of the same name, once
        assert header(response, "x-frame-options") == ["SAMEORIGIN"]


def test_without_a_config_the_default_security_headers_apply():
    for response in all_kinds(None):
        assert header(response, "x-content-type-options") == ["nosniff"]
        assert header(response, "x-frame-options") == ["DENY"]
        assert header(response, "referrer-policy") == ["no-referrer"]
        assert "frame-ancestors 'none'" in header(response, "content-security-policy")[0]
        assert "strict-transport-security" not in response["headers"]


def test_the_defaults_stay_under_a_config_that_sets_none():
    doc = config_doc()
    doc["headers"] = {}
    bare = config.parse(doc)
    for response in all_kinds(bare):
        assert header(response, "x-content-type-options") == ["nosniff"]
        assert header(response, "content-security-policy")


def test_one_responses_headers_do_not_leak_into_the_next(cfg):
    first = redirect(cfg, "/a", cookies=["a=1"])
    first["headers"]["x-extra"] = [{"key": "X-Extra", "value": "1"}]
    second = page(cfg, 200, "t")
    assert "x-extra" not in second["headers"]
    assert "set-cookie" not in second["headers"]
    assert "location" not in second["headers"]
    assert "location" not in responses.DEFAULT_HEADERS and "set-cookie" not in responses.DEFAULT_HEADERS


# --- cookies --------------------------------------------------------------------------------


def test_each_cookie_gets_its_own_set_cookie_entry(cfg):
    cookies = [
        cookie("__Host-gh-session", "a.b.c", 3600),
        expired_cookie("__Host-gh-tx-1"),
        expired_cookie("__Host-gh-tx-2"),
    ]
    for response in all_kinds(cfg, cookies=cookies):
        entries = response["headers"]["set-cookie"]
        assert [e["value"] for e in entries] == cookies
        assert all(e["key"] == "Set-Cookie" for e in entries)
        for entry in entries:
            assert "," not in entry["value"].split(";")[0]


def test_no_cookies_means_no_set_cookie_header(cfg):
    for response in all_kinds(cfg):
        assert "set-cookie" not in response["headers"]


def attributes(set_cookie):
    first, *rest = [part.strip() for part in set_cookie.split(";")]
    return first, {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else True) for a in rest}


@pytest.mark.parametrize(
    "value",
    [cookie("__Host-gh-session", "h.p.s", 28800), cookie("__Host-gh-tx-abc", "x", 600), expired_cookie("__Host-gh-session")],
)
def test_cookies_are_secure_httponly_lax_host_cookies(value):
    pair, attrs = attributes(value)
    assert attrs["secure"] is True
    assert attrs["httponly"] is True
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    # a __Host- cookie is refused by browsers if it has a Domain
    assert "domain" not in attrs
    assert pair.startswith("__Host-")


def test_a_cookie_carries_its_value_and_lifetime():
    pair, attrs = attributes(cookie("__Host-gh-session", "h.p.s", 28800))
    assert pair == "__Host-gh-session=h.p.s"
    assert attrs["max-age"] == "28800"
    _, attrs = attributes(cookie("__Host-x", "v", 59.9))
    assert attrs["max-age"] == "59"


def test_an_expired_cookie_is_empty_and_already_gone():
    pair, attrs = attributes(expired_cookie("__Host-gh-session"))
    assert pair == "__Host-gh-session="
    assert attrs["max-age"] == "0"
    assert attrs["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


# --- escaping ----------------------------------------------------------------------------------


def test_titles_paragraphs_and_links_are_html_escaped(cfg):
    response = page(cfg, 400, XSS, [XSS, "plain & simple"], link=(XSS, XSS))
    body = response["body"]
    assert "<script>" not in body
    assert "<img" not in body
    assert html.escape(XSS) in body
    assert "plain &amp; simple" in body
    # the href attribute cannot be closed early
    hrefs = re.findall(r'<a href="([^"]*)">', body)
    assert hrefs == [html.escape(XSS)]
    assert body.count("<script") == 0


def test_a_link_is_rendered_with_its_label(cfg):
    body = page(cfg, 200, "Signed out", [], link=("/?a=1&b=2", "Sign in again"))["body"]
    assert '<p><a href="/?a=1&amp;b=2">Sign in again</a></p>' in body


def test_markup_in_text_is_shown_not_interpreted(cfg):
    body = page(cfg, 403, "No access", ["You are signed in as </p><h1>admin</h1>"])["body"]
    assert "<h1>admin</h1>" not in body
    assert "&lt;/p&gt;&lt;h1&gt;admin&lt;/h1&gt;" in body


# --- size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "t", "paragraphs": ["x" * 100_000]},
        {"title": "t", "paragraphs": ["<" * 20_000]},  # escaping grows 4x
        {"title": "t", "paragraphs": ['"' * 20_000]},  # escaping grows 6x
        {"title": "t", "paragraphs": ["a"] * 20_000},
        {"title": "t", "paragraphs": ["\u20ac" * 30_000]},  # 3 bytes a character
        {"title": "t", "paragraphs": ["\U0001f600" * 15_000]},  # 4 bytes a character
        {"title": "x" * 100_000, "paragraphs": ["p"]},
        {"title": "<" * 20_000, "paragraphs": ["p"]},
        {"title": "\u20ac" * 30_000, "paragraphs": ["p"]},
        {"title": "t", "paragraphs": ["p"], "link": ("/" + "a" * 100_000, "again")},
        {"title": "t", "paragraphs": ["p"], "link": ("/", "a" * 100_000)},
    ],
)
def test_a_page_stays_under_cloudfronts_40_kb_limit_for_huge_input(cfg, kwargs):
    title = kwargs.pop("title")
    response = page(cfg, 400, title, **kwargs)
    assert size(response) < LIMIT
    assert len(response["body"].encode("utf-8")) <= responses.MAX_BODY
    assert response["body"].startswith("<!doctype html>") and response["body"].endswith("</html>")


def test_a_normal_page_keeps_its_text(cfg):
    text = "y" * 1000
    assert text in page(cfg, 403, "No access", [text])["body"]


def test_a_page_with_every_header_and_several_cookies_stays_small(cfg):
    cookies = [cookie(f"__Host-gh-tx-{i}", "v" * 400, 600) for i in range(5)]
    response = page(cfg, 403, "No access", ["z" * 20_000], link=("/", "Sign out"), cookies=cookies)
    assert size(response) < LIMIT
