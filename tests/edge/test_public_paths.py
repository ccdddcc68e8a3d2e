"""A public path serves exactly the object it names, never the SPA fallback.

Issue 7, item 1: in SPA mode `/favicon.ico/x` (or `/assets/public/x` with
`/assets/public/` public) used to be rewritten to the live build's
`/index.html`, handing the protected app to a viewer who never signed in.
Every combination of SPA mode, prefix shape and path shape goes through
`handler.handler` with a viewer-request event as the gateway builds it.
"""

import pytest

from edge_runtime import handler
from edge_runtime.gateway import build_event
from tests.edge.factories import DISTRIBUTION_ID, HOST, site_config


class StaticStore:
    def __init__(self, cfg):
        self.cfg = cfg

    def get(self, host):
        return self.cfg if host in self.cfg.hosts else None


class Context:
    def get_remaining_time_in_millis(self):
        return 5000


def viewer_request(uri):
    # A browser navigation with no cookies: nobody is signed in.
    return build_event(
        method="GET",
        uri=uri,
        querystring="",
        headers=[
            ("Host", HOST),
            ("Accept", "text/html,application/xhtml+xml"),
            ("Sec-Fetch-Mode", "navigate"),
        ],
        client_ip="203.0.113.178",
        distribution_id=DISTRIBUTION_ID,
        request_id="4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
    )


@pytest.fixture
def serve(monkeypatch):
    monkeypatch.setattr(handler, "_public_origin", lambda host: f"https://{host}")

    def serve(*, spa, public, uri):
        cfg = site_config(site={"spa": spa, "build": {"id": "b1", "prefix": "builds/b1"}}, paths={"public": [public]})
        monkeypatch.setattr(handler, "_store", StaticStore(cfg))
        return handler.handler(viewer_request(uri), Context())

    return serve


# (request path below the prefix, the object key below the prefix it must get)
PATH_SHAPES = [
    ("logo.png", "logo.png"),  # an extension
    ("x", "x"),  # none: the SPA fallback's trigger
    ("deep/er/route", "deep/er/route"),
    ("v1.2/route", "v1.2/route"),  # a dot in a folder, none in the name
    (".well-known", ".well-known"),
    ("x/", "x/index.html"),  # a trailing slash: that folder's own index
    ("caf%C3%A9", "caf%C3%A9"),  # encoded characters, no extension
    ("a%20b.css", "a%20b.css"),
    ("x%2Fy", "x/y"),  # an encoded slash is a slash after normalising
    ("x%3Fy", "x%3Fy"),
    ("x%25y", "x%25y"),
    ("x/%2e/y", "x/y"),  # a dot segment that stays inside the prefix
]

PREFIXES = [
    ("/assets/public/", "/assets/public"),  # a folder rule
    ("/assets/public", "/assets/public"),  # a path rule: the path and below it
    ("/favicon.ico", "/favicon.ico"),  # a file name used as a path rule
]


@pytest.mark.parametrize("spa", [True, False], ids=["spa", "static"])
@pytest.mark.parametrize(("public", "root"), PREFIXES, ids=[p for p, _ in PREFIXES])
@pytest.mark.parametrize(("below", "key"), PATH_SHAPES, ids=[b for b, _ in PATH_SHAPES])
def test_a_path_under_a_public_prefix_gets_exactly_its_own_object(serve, spa, public, root, below, key):
    response = serve(spa=spa, public=public, uri=f"{root}/{below}")
    assert "status" not in response, "a public path must reach the origin without sign-in"
    assert response["uri"] == f"/builds/b1{root}/{key}"


@pytest.mark.parametrize("spa", [True, False], ids=["spa", "static"])
@pytest.mark.parametrize("public", ["/assets/public", "/favicon.ico"])
def test_a_public_path_rule_serves_its_own_object(serve, spa, public):
    response = serve(spa=spa, public=public, uri=public)
    assert response["uri"] == f"/builds/b1{public}"


@pytest.mark.parametrize("spa", [True, False], ids=["spa", "static"])
@pytest.mark.parametrize("public", ["/assets/public/", "/assets/public"])
def test_a_public_folder_serves_its_own_index(serve, spa, public):
    response = serve(spa=spa, public=public, uri="/assets/public/")
    assert response["uri"] == "/builds/b1/assets/public/index.html"


@pytest.mark.parametrize("spa", [True, False], ids=["spa", "static"])
@pytest.mark.parametrize("uri", ["/assets/public", "/assets/publicx", "/assets/public%2F..%2Fapp", "/app", "/"])
def test_a_path_outside_the_public_folder_still_needs_sign_in(serve, spa, uri):
    response = serve(spa=spa, public="/assets/public/", uri=uri)
    assert response["status"] == "302"
