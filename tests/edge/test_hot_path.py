"""The valid-session path's shortcuts give the answers the full checks give,
and the tables behind them stay bounded."""

import itertools
import random
import time

import pytest

from edge_runtime import config, handler, paths, tokens
from tests.edge.test_handler import DIST, HOST, StaticStore, event, make_site, provider, run, session_for  # noqa: F401


def split_without_memo(headers):
    """split_cookies as it was before the memo: the reference answer."""
    entries = headers.get("cookie")
    if not entries:
        return [], None
    ours, forwarded = [], []
    for entry in entries:
        value = entry.get("value") if type(entry) is dict else None
        if type(value) is not str:
            continue
        if handler.COOKIE_MARK not in value:
            forwarded.append(entry)
            continue
        rest = []
        for piece in value.split(";"):
            piece = piece.strip()
            if piece.startswith(handler.COOKIE_MARK):
                name, sep, val = piece.partition("=")
                if sep:
                    ours.append((name.rstrip(), val.strip()))
            elif piece:
                rest.append(piece)
        if rest:
            forwarded.append({"key": entry.get("key") or "Cookie", "value": "; ".join(rest)})
    return ours, forwarded


PIECES = [
    "theme=dark",
    " a = 1 ",
    "",
    " ",
    "__Host-gh-session=abc.def.ghi",
    "  __Host-gh-session = x ",
    "__Host-gh-tx-AAAAAAAAAAAAAAAA=t",
    "__Host-gh-",
    "x=__Host-gh-session=inside",
    "\xa0b=2\xa0",
    "==",
]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_a_cookie_split_is_the_same_from_the_memo_as_without_it(count, monkeypatch):
    monkeypatch.setattr(handler, "_cookie_splits", {})
    for combo in itertools.product(PIECES, repeat=count):
        for separator in (";", "; ", " ;"):
            value = separator.join(combo)
            headers = {"cookie": [{"key": "Cookie", "value": value}, {"value": "plain=1"}]}
            expected = split_without_memo(headers)
            assert handler.split_cookies(headers) == expected, value
            assert handler.split_cookies(headers) == expected, value  # now from the memo


def test_changing_a_split_result_does_not_change_the_next_one(monkeypatch):
    monkeypatch.setattr(handler, "_cookie_splits", {})
    headers = {"cookie": [{"key": "Cookie", "value": "a=1; __Host-gh-session=s; b=2"}]}
    ours, forwarded = handler.split_cookies(headers)
    ours.append(("__Host-gh-session", "forged"))
    forwarded[0]["value"] = "changed"
    assert handler.split_cookies(headers) == ([("__Host-gh-session", "s")], [{"key": "Cookie", "value": "a=1; b=2"}])


def test_the_cookie_memo_is_bounded_in_count_and_keeps_no_long_value(monkeypatch):
    monkeypatch.setattr(handler, "_cookie_splits", {})
    for n in range(handler.MAX_COOKIE_SPLITS * 3):
        handler.split_cookies({"cookie": [{"value": f"__Host-gh-session={n}"}]})
        assert len(handler._cookie_splits) <= handler.MAX_COOKIE_SPLITS
    handler._cookie_splits.clear()
    long_value = "__Host-gh-session=" + "x" * handler.MAX_SPLIT_VALUE
    assert handler.split_cookies({"cookie": [{"value": long_value}]})[0] == [("__Host-gh-session", "x" * handler.MAX_SPLIT_VALUE)]
    assert handler._cookie_splits == {}


def test_the_known_host_table_holds_only_valid_hosts_and_stays_bounded(make_site, monkeypatch):
    make_site()
    monkeypatch.setattr(handler, "_known_hosts", {})
    for bad in ("-bad.example", "a..b", "évil.example", "x" * 300, "demo.example.com\x00"):
        assert run(event("/", host=bad))["status"] == "400"
    assert handler._known_hosts == {}
    assert run(event("/", host="Demo.Example.com:443"))["status"] == "302"
    assert handler._known_hosts == {"Demo.Example.com:443": HOST}
    rng = random.Random(7)
    for _ in range(handler.MAX_KNOWN_HOSTS * 3):
        name = "".join(rng.choice("abcdefghij") for _ in range(12)) + ".example"
        assert run(event("/", host=name))["status"] == "404"
        assert len(handler._known_hosts) <= handler.MAX_KNOWN_HOSTS
    assert all(config.is_host_name(host) for host in handler._known_hosts.values())


def test_a_host_value_that_is_not_text_still_gets_the_fail_closed_page(make_site):
    make_site()
    response = run(event("/", headers={"host": [{"key": "Host", "value": ["demo.example.com"]}]}))
    assert response["status"] in ("400", "500")


def test_an_admitted_session_still_expires(make_site, monkeypatch):
    cfg = make_site()
    now = time.time()
    cookie = session_for(cfg, exp=int(now) + 60)
    assert "status" not in run(event("/a.html", cookies=[cookie]))
    assert "status" not in run(event("/a.html", cookies=[cookie]))  # from the caches
    monkeypatch.setattr(handler.time, "time", lambda: now + 61)
    assert run(event("/a.html", cookies=[cookie]))["status"] == "302"


def test_a_refused_session_stays_refused_from_the_cache(make_site):
    cfg = make_site()
    cookie = session_for(cfg, email="bob@elsewhere.example")
    for _ in range(2):
        assert run(event("/a.html", cookies=[cookie]))["status"] == "403"


def test_the_admitted_table_is_bounded(make_site, monkeypatch):
    cfg = make_site()
    monkeypatch.setattr(tokens, "_VERIFIED_CACHE_SIZE", 4)
    for n in range(12):
        assert "status" not in run(event("/a.html", cookies=[session_for(cfg, sub=f"u{n}")]))
        assert len(cfg.derived["admitted"]) <= 4


@pytest.mark.parametrize(
    "prefixes",
    [(), ("/favicon.ico",), ("/assets/public/",), ("/assets/public", "/robots.txt", "/a/")],
)
def test_the_precomputed_public_paths_match_exactly_what_is_public_matches(prefixes, make_site):
    cfg = make_site(paths={"public": list(prefixes)})
    candidates = ["/", "/favicon.ico", "/favicon.ico/x", "/favicon.icox", "/assets/public", "/assets/public/",
                  "/assets/public/x", "/assets/publicx", "/robots.txt", "/robots.txt/", "/a", "/a/", "/a/b", "/b"]  # fmt: skip
    for path in candidates:
        assert paths.is_public_for(cfg, path) == paths.is_public(prefixes, path), (prefixes, path)
