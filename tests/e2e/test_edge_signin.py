"""End to end at the edge: the real OpenID Connect provider (devidp), the real
local gateway running edge_runtime, configs in S3 on moto's server, and
Debian's Chromium driven by Playwright."""

import json
import time
import urllib.request

import pytest

from tests.e2e.support import gateway_start, s3_client
from tests.edge.factories import config_doc
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.e2e

BUCKET = "gatehouse-config-e2e"
DIST = "E2EDISTRIBUTION"


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


class Edge:
    """The gateway process plus the S3 config it reads."""

    def __init__(self, s3, port, host, doc):
        self.s3, self.port, self.host, self.doc = s3, port, host, doc
        self.url = f"http://{host}:{port}"

    def publish(self, **changes):
        for section, values in changes.items():
            self.doc[section].update(values)
        self.s3.put_object(Bucket=BUCKET, Key=f"sites/{self.host}.json", Body=json.dumps(self.doc).encode())
        # The gateway caches configs for one second in these tests.
        time.sleep(1.3)


@pytest.fixture(scope="module")
def edge(idp, moto_server, tmp_path_factory):
    s3 = s3_client(moto_server.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    work = tmp_path_factory.mktemp("edge")
    origin = work / "origin"
    for build, title in (("b1", "Build one"), ("b2", "Build two")):
        folder = origin / "builds" / build
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(f"<!doctype html><title>{title}</title><h1>{title}</h1>")
    host = "demo.localhost"
    gateway = gateway_start(
        work, bucket=BUCKET, prefix="sites/", endpoint_url=moto_server.endpoint_url,
        args=["--origin-dir", str(origin), "--distribution-id", DIST],
    )
    discovery = idp.discovery
    doc = config_doc(
        site={"id": "e2e-demo", "hosts": [host], "distribution_id": DIST, "build": {"id": "b1", "prefix": "builds/b1"}, "spa": True},
        provider={
            "issuer": discovery["issuer"],
            "authorization_endpoint": discovery["authorization_endpoint"],
            "token_endpoint": discovery["token_endpoint"],
            "userinfo_endpoint": discovery.get("userinfo_endpoint"),
            "end_session_endpoint": discovery.get("end_session_endpoint"),
            "jwks_uri": discovery["jwks_uri"],
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": ["openid", "email", "profile"],
            "authorize_params": {},
            "jwks": fetch_json(discovery["jwks_uri"]),
            "id_token_algs": ["RS256"],
            "tenant_id": None,
        },
        access={"emails": [], "email_domains": ["client.example", "consultancy.example"], "allow_any_user": False},
    )
    edge = Edge(s3, gateway.port, host, doc)
    edge.publish()
    yield edge
    gateway.stop()


def sign_in_at_provider(page, username):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()


def test_a_viewer_signs_in_reloads_sees_a_build_switch_and_signs_out(edge, idp, page):
    provider_requests = []
    page.on("request", lambda r: provider_requests.append(r.url) if f":{idp.port}/" in r.url else None)

    page.goto(f"{edge.url}/reports/q3?tab=2")
    assert page.url.startswith(idp.issuer.rsplit("/o", 1)[0])
    screenshot(page, "edge-provider-login")
    sign_in_at_provider(page, "ann")
    page.wait_for_url(f"{edge.url}/reports/q3?tab=2")
    assert page.get_by_role("heading", name="Build one").is_visible()
    screenshot(page, "edge-signed-in")

    me = page.evaluate("fetch('/_gatehouse/me').then(r => r.json())")
    assert me["email"] == "ann@client.example"
    assert me["signed_in"] is True

    seen = len(provider_requests)
    page.reload()
    assert page.get_by_role("heading", name="Build one").is_visible()
    assert len(provider_requests) == seen, "a reload must not go back to the provider"

    edge.publish(site={"build": {"id": "b2", "prefix": "builds/b2"}})
    page.reload()
    assert page.get_by_role("heading", name="Build two").is_visible()
    edge.publish(site={"build": {"id": "b1", "prefix": "builds/b1"}})
    page.reload()
    assert page.get_by_role("heading", name="Build one").is_visible()

    page.goto(f"{edge.url}/_gatehouse/sign-out")
    # Some providers ask before ending their session; devidp may show a form.
    if not page.url.startswith(edge.url):
        confirm = page.get_by_role("button")
        if confirm.count():
            confirm.first.click()
    page.wait_for_url(f"{edge.url}/_gatehouse/signed-out")
    assert "Signed out" in page.content()
    screenshot(page, "edge-signed-out")
    cookies = {c["name"] for c in page.context.cookies()}
    assert "__Host-gh-session" not in cookies


def test_a_viewer_refused_by_the_rules_sees_a_clear_page(edge, page):
    page.goto(f"{edge.url}/")
    sign_in_at_provider(page, "eve")
    page.wait_for_url(f"{edge.url}/_gatehouse/callback*")
    assert "No access" in page.content()
    assert "eve@evilexample.com" in page.content()
    screenshot(page, "edge-refused-by-rule")
    assert "__Host-gh-session" not in {c["name"] for c in page.context.cookies()}


def test_an_unverified_email_is_refused(edge, page):
    page.goto(f"{edge.url}/")
    sign_in_at_provider(page, "uma")
    page.wait_for_url(f"{edge.url}/_gatehouse/callback*")
    assert "No access" in page.content()


def test_a_signed_in_viewer_is_refused_once_the_access_window_ends(edge, page):
    page.goto(f"{edge.url}/")
    sign_in_at_provider(page, "bob")
    page.wait_for_url(f"{edge.url}/")
    assert page.get_by_role("heading", name="Build one").is_visible()
    edge.publish(access={"not_after": "2020-01-01T00:00:00Z"})
    try:
        page.reload()
        assert "This demo has ended" in page.content()
        screenshot(page, "edge-access-window-ended")
    finally:
        edge.publish(access={"not_after": None})


def test_sign_out_ends_the_provider_session_without_a_confirmation(edge, idp, page):
    page.goto(f"{edge.url}/")
    sign_in_at_provider(page, "ann")
    page.wait_for_url(f"{edge.url}/")
    kept = {c["name"]: c for c in page.context.cookies()}["__Secure-gh-idt"]
    assert kept["path"] == "/_gatehouse/sign-out"
    assert kept["httpOnly"] is True
    # Page scripts never see it.
    assert "gh-idt" not in page.evaluate("document.cookie")

    logout_pages = []
    page.on("response", lambda r: logout_pages.append(r.status) if "/logout" in r.url else None)
    page.goto(f"{edge.url}/_gatehouse/sign-out")
    # With the id_token_hint devidp ends its session and redirects at once:
    # no confirmation page is shown (it would stop here with a 200).
    page.wait_for_url(f"{edge.url}/_gatehouse/signed-out")
    assert logout_pages and all(status == 302 for status in logout_pages), logout_pages
    assert "__Secure-gh-idt" not in {c["name"] for c in page.context.cookies()}
    # The provider's session is gone too: the next sign-in asks for the password.
    page.goto(f"{edge.url}/")
    assert page.get_by_label("Password").is_visible()


def test_after_sign_everyone_out_a_provider_session_older_than_the_revocation_does_not_sign_in(edge, idp, page):
    from tests.edge.factories import KEY_A, KEY_B

    page.goto(f"{edge.url}/")
    sign_in_at_provider(page, "ann")
    page.wait_for_url(f"{edge.url}/")
    time.sleep(1.1)  # auth_time has whole seconds
    revoked_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    edge.publish(session={"current_kid": "s9", "keys": {"s9": KEY_B}, "revoked_at": revoked_at})
    try:
        authorize = []
        page.on("request", lambda r: authorize.append(r.url) if "/authorize" in r.url else None)
        page.goto(f"{edge.url}/reports")
        # devidp (django-oauth-toolkit 3.4) ignores max_age, and its answer to
        # prompt=login signs a viewer with a session straight back in: both
        # times its auth_time is older than the revocation, so the edge
        # refuses and offers the sign-out that ends devidp's session too.
        assert "Please sign in again" in page.content()
        assert "max_age=" in authorize[0]
        assert any("prompt=login" in url for url in authorize[1:])
        screenshot(page, "edge-fresh-sign-in-required")
        page.get_by_role("link", name="Sign out, then sign in again").click()
        page.wait_for_url(f"{edge.url}/_gatehouse/signed-out")
        page.goto(f"{edge.url}/reports")
        sign_in_at_provider(page, "ann")
        page.wait_for_url(f"{edge.url}/reports")
        assert page.get_by_role("heading", name="Build one").is_visible()
    finally:
        edge.publish(session={"current_kid": "s1", "keys": {"s1": KEY_A}, "revoked_at": None})
