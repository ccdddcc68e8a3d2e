"""Request paths: normalise, is_public, origin_uri and safe_return_path."""

import pytest

from edge_runtime import paths
from edge_runtime.paths import is_public, normalise, origin_uri, safe_return_path
from tests.edge.factories import site_config

# --- normalise --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/", "/"),
        ("/index.html", "/index.html"),
        ("/a/b/c.js", "/a/b/c.js"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/a/b/../../c", "/c"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/..", "/"),
        ("/.", "/"),
        ("/a/..", "/"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a/.hidden", "/a/.hidden"),
        ("/a/..b/c", "/a/..b/c"),
        ("/a/...", "/a/..."),
        ("/%2e%2e/secret", "/secret"),
        ("/%2E%2E/secret", "/secret"),
        ("/public/%2e%2e/secret", "/secret"),
        ("/public/.%2e/secret", "/secret"),
        ("/public/%2e/x", "/public/x"),
        ("/public%2f..%2fsecret", "/secret"),
        ("/public%2F%2E%2E%2Fsecret", "/secret"),
        ("/public\\..\\secret", "/secret"),
        ("/public%5c..%5csecret", "/secret"),
        ("/a\\b", "/a/b"),
        ("//a//b//", "/a/b/"),
        ("//evil.example", "/evil.example"),
        ("/a//b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("/a%20b", "/a b"),
        ("/caf%C3%A9", "/caf\u00e9"),
        ("/caf\u00e9", "/caf\u00e9"),
        ("/%E2%82%AC/x", "/\u20ac/x"),
        ("/a%3Fb", "/a?b"),
        # decoded once only: a double-encoded dot segment stays a literal name
        ("/public/%252e%252e/secret", "/public/%2e%2e/secret"),
    ],
)
def test_normalise_decodes_resolves_dot_segments_and_collapses_slashes(uri, expected):
    assert normalise(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "/%ff",
        "/%C3",
        "/%C3%28",
        "/%ED%A0%80",  # a UTF-16 surrogate encoded as UTF-8
        "/%C0%AE%C0%AE/secret",  # overlong '.'
        "/a%00b",
        "/a%00",
        "/a%0d%0aSet-Cookie:x",
        "/a%0A",
        "/a%09b",
        "/a%7f",
        "/a\x00b",
        "/a\nb",
        "/a\tb",
        "/a\x7f",
        "/a\x1b",
        "",
        "a/b",
        "%2Fa",
        "http://evil.example/",
        None,
        b"/a",
        7,
    ],
)
def test_normalise_refuses_what_cannot_be_a_real_request_path(uri):
    assert normalise(uri) is None


def test_normalise_keeps_non_ascii_text():
    assert normalise("/%E6%97%A5%E6%9C%AC/%F0%9F%98%80.png") == "/\u65e5\u672c/\U0001f600.png"


def test_normalise_result_never_holds_a_dot_segment_or_double_slash():
    nasty = ["/a/%2e%2e/%2e/b//c/./../d", "/./.././/..//x", "/a\\.\\..\\b", "/%2e%2e%2f%2e%2e%2fx"]
    for uri in nasty:
        result = normalise(uri)
        assert result.startswith("/")
        assert "//" not in result and "\\" not in result
        assert "." not in result.split("/") and ".." not in result.split("/")


# --- is_public ---------------------------------------------------------------------

PUBLIC = ("/favicon.ico", "/assets/public/", "/public")


@pytest.mark.parametrize(
    "path",
    [
        "/favicon.ico",
        "/favicon.ico/",
        "/assets/public/",
        "/assets/public/logo.png",
        "/assets/public/deep/er/x.css",
        "/public",
        "/public/",
        "/public/x.html",
    ],
)
def test_a_path_inside_a_public_prefix_is_public(path):
    assert is_public(PUBLIC, path)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/favicon.ico.bak",
        "/favicon.icon",
        "/assets/public",  # the folder rule "/assets/public/" is the folder only
        "/assets/publicity/x",
        "/assets/public-x",
        "/assets/",
        "/publicity",
        "/public-x",
        "/publi",
        "/Public",
        "/PUBLIC/x",
        "/secret",
        "/x/public/",
        "/x/favicon.ico",
    ],
)
def test_a_path_outside_every_public_prefix_is_not_public(path):
    assert not is_public(PUBLIC, path)


@pytest.mark.parametrize(
    "uri",
    [
        "/public/../secret",
        "/public/%2e%2e/secret",
        "/public%2f..%2fsecret",
        "/public\\..\\secret",
        "/assets/public/../../secret.html",
        "/assets/public/%2E%2E/secret.html",
        "/assets/public/..%5csecret.html",
    ],
)
def test_a_dot_segment_cannot_escape_a_public_prefix_after_normalising(uri):
    assert not is_public(PUBLIC, normalise(uri))


def test_nothing_is_public_without_prefixes():
    assert not is_public((), "/favicon.ico")


# --- origin_uri ---------------------------------------------------------------------


@pytest.fixture
def site():
    return site_config(site={"build": {"id": "b7", "prefix": "builds/b7"}, "spa": False})


@pytest.fixture
def spa():
    return site_config(site={"build": {"id": "b7", "prefix": "builds/b7"}, "spa": True})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/builds/b7/index.html"),
        ("/index.html", "/builds/b7/index.html"),
        ("/docs/", "/builds/b7/docs/index.html"),
        ("/docs", "/builds/b7/docs"),
        ("/a/b.css", "/builds/b7/a/b.css"),
        ("/a+b@c:d;e=f,g!$&'()*~_-.txt", "/builds/b7/a+b@c:d;e=f,g!$&'()*~_-.txt"),
    ],
)
def test_origin_uri_puts_the_path_under_the_live_build(site, path, expected):
    assert origin_uri(site, path) == expected


def test_origin_uri_without_a_build_serves_the_bucket_root():
    cfg = site_config(site={"build": None, "spa": True})
    assert origin_uri(cfg, "/a.js") == "/a.js"
    assert origin_uri(cfg, "/customers/42") == "/index.html"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/customers/42", "/builds/b7/index.html"),
        ("/customers", "/builds/b7/index.html"),
        ("/customers/", "/builds/b7/customers/index.html"),
        ("/", "/builds/b7/index.html"),
        ("/app.js", "/builds/b7/app.js"),
        ("/v1.2/customers", "/builds/b7/index.html"),
        ("/customers/42.json", "/builds/b7/customers/42.json"),
        ("/.well-known/x", "/builds/b7/index.html"),
    ],
)
def test_spa_mode_serves_index_html_for_paths_without_an_extension(spa, path, expected):
    assert origin_uri(spa, path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/caf\u00e9.html", "/builds/b7/caf%C3%A9.html"),
        ("/\u65e5\u672c/", "/builds/b7/%E6%97%A5%E6%9C%AC/index.html"),
        ("/a%b.txt", "/builds/b7/a%25b.txt"),
        ("/public/%2e%2e/x.txt", "/builds/b7/public/%252e%252e/x.txt"),
        ("/a b.pdf", "/builds/b7/a%20b.pdf"),
        ("/a?b.txt", "/builds/b7/a%3Fb.txt"),
        ("/a#b.txt", "/builds/b7/a%23b.txt"),
        ('/a"<b>.txt', "/builds/b7/a%22%3Cb%3E.txt"),
    ],
)
def test_origin_uri_requotes_what_is_not_plain_ascii(site, path, expected):
    assert origin_uri(site, path) == expected


def test_origin_uri_round_trips_through_normalise(site):
    for uri in ["/caf%C3%A9.html", "/a%20b.pdf", "/a%3Fb.txt", "/%E6%97%A5/x.png", "/a%25b.txt"]:
        rewritten = origin_uri(site, normalise(uri))
        assert rewritten == "/builds/b7" + uri.replace("%c3%a9", "%C3%A9")
        assert all(0x20 < ord(ch) < 0x7F for ch in rewritten)


# --- safe_return_path ------------------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.com",
    "//evil.com/",
    "///evil.com",
    "////evil.com",
    "/\\evil.com",
    "/\\/evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\\\evil.com",
    "https://evil.com",
    "http://evil.com/x",
    "HTTPS://evil.com",
    "https:evil.com",
    "//evil.com@site.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    ".evil.com",
    "evil.com",
    "evil.com/x",
    "@evil.com",
    "?next=/x",
    "#x",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "/%2F/evil.com",
    "%2F%2Fevil.com",
    "/%252F%252Fevil.com",
    "/%252f/evil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "/%5C%5Cevil.com",
    "/%255Cevil.com",
    "/%2F%5Cevil.com",
    "/x\\y",
    "/x%5Cy",
    "/x%0d%0aSet-Cookie:%20a=b",
    "/x%0D%0ASet-Cookie:%20a=b",
    "/x%0aLocation:%20//evil.com",
    "/x%0d",
    "/x%250d%250aSet-Cookie:a=b",
    "/x?y=%0d%0aSet-Cookie:a=b",
    "/x?y=%0AInjected",
    "/x\r\nLocation: x",
    "/x\rLocation: x",
    "/x\nLocation: x",
    "/x?y=\r\nSet-Cookie:a=b",
    "/%00",
    "/x%00.html",
    "/x?y=%00",
    "/x\x00",
    "/%2500",
    "/\t/evil.com",
    "/\t\tevil.com",
    "/%09/evil.com",
    "/x\ty",
    "/ /evil.com",
    " /x",
    "/x y",
    "/x\x7f",
    "/x%7F",
    "/x\x1b[31m",
    "/x%1b",
    "/caf\u00e9",
    "/\u2028evil",
    "/\uff0f\uff0fevil.com",
    "/" + "a" * 2048,
    "/?" + "a" * 4096,
    "",
    None,
    7,
    b"/x",
    ["/x"],
    {"/x": 1},
]


@pytest.mark.parametrize("value", OPEN_REDIRECTS)
def test_an_open_redirect_attempt_becomes_the_home_page(value):
    assert safe_return_path(value) == "/"


LEGIT = [
    "/",
    "/a",
    "/a/b/c.html",
    "/a?b=1&c=%2F",
    "/a?next=//evil.com",
    "/a?next=https://evil.com",
    "/reports?id=7#section-2",
    "/caf%C3%A9",
    "/%E6%97%A5%E6%9C%AC",
    "/a%20b",
    "/a+b",
    "/a%2Bb",
    "/%25",
    "/a%2Fb",
    "/.well-known/x",
    "/a/../b",
    "/https://evil.com",
    "/~user/?q=a;b",
    "/" + "a" * 2047,
]


@pytest.mark.parametrize("value", LEGIT)
def test_a_relative_path_on_this_host_is_kept_as_is(value):
    assert safe_return_path(value) == value


def test_the_return_path_limit_is_2048_characters():
    assert paths._MAX_RETURN == 2048
    assert safe_return_path("/" + "a" * 2047) != "/"
    assert safe_return_path("/" + "a" * 2048) == "/"


@pytest.mark.parametrize("value", LEGIT + [v for v in OPEN_REDIRECTS if isinstance(v, str)])
def test_every_kept_return_path_is_a_same_host_header_safe_path(value):
    result = safe_return_path(value)
    assert result.startswith("/") and not result.startswith(("//", "/\\"))
    assert all(0x20 < ord(ch) < 0x7F for ch in result)
    assert "\\" not in result


def test_origin_uri_quotes_exactly_what_quote_would():
    from urllib.parse import quote

    cfg = site_config(site={"build": None, "spa": False})
    for code in range(0x20, 0x250):
        path = f"/a{chr(code)}b.txt"
        if chr(code) in "/.":
            continue
        assert origin_uri(cfg, path) == quote(path, safe=paths._ORIGIN_SAFE), repr(chr(code))
