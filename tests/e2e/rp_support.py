"""The relying party under test, end to end: the console turns an issuer into
a provider row and a rendered config (its real discovery code, over HTTP to
the provider process), the config goes to S3 on moto's server, and the local
gateway runs the edge handler in front of a one-page build. A viewer is a
small HTTP client with a cookie jar (or Chromium, in the browser tests).

``rp_edge`` (module scope) is the gateway; ``rp_site(...)`` onboards one site
for one test under its own host name, so no test sees another's cached config
or refetched keys.
"""

import http.client
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from sites.models import Build, IdentityProvider
from sites.rendering import site_config_render
from sites.services.providers import provider_check
from sites.services.sites import site_create
from tests.e2e.support import GatewayProcess, gateway_start, s3_client
BUCKET = "gatehouse-config-conformance"
PREFIX = "sites/"
TITLE = "Conformance demo"
SESSION_COOKIE = "__Host-gh-session"


class RpEdge:
    """The gateway process and the S3 bucket its configs come from."""

    def __init__(self, s3, gateway: GatewayProcess):
        self.s3, self.gateway, self.port = s3, gateway, gateway.port

    def origin(self, host):
        return f"http://{host}:{self.port}"

    def publish(self, doc):
        body = json.dumps(doc).encode()
        for host in doc["site"]["hosts"]:
            self.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{host}.json", Body=body)

    def log(self):
        return self.gateway.log()


def start_gateway(moto_server, work: Path) -> RpEdge:
    """A gateway process serving builds/ under `work` with configs from the bucket."""
    s3 = s3_client(moto_server.endpoint_url)
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    build = work / "origin" / "builds" / "conformance"
    build.mkdir(parents=True, exist_ok=True)
    (build / "index.html").write_text(f"<!doctype html><title>{TITLE}</title><h1>{TITLE}</h1>")
    args = ["--origin-dir", str(work / "origin"), "--distribution-id", "ECONFORMANCE"]
    gateway = gateway_start(work, bucket=BUCKET, prefix=PREFIX, endpoint_url=moto_server.endpoint_url, args=args)
    return RpEdge(s3, gateway)


@dataclass
class RpSite:
    host: str
    origin: str
    provider: IdentityProvider
    doc: dict
    site_id: int = 0
    log_offset: int = 0

    @property
    def callback(self):
        return self.origin + "/_gatehouse/callback"

    @property
    def signed_out(self):
        return self.origin + "/_gatehouse/signed-out"


def rp_site(
    edge: RpEdge,
    *,
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    auth_method: str = "client_secret_basic",
    scopes=("openid", "email", "profile"),
    email_domains=("client.example",),
    groups_claim: str = "",
    groups=(),
) -> RpSite:
    """Onboard a site the way the console does: preset "oidc" with `issuer`,
    the provider check (discovery + keys over HTTP), a site with its first
    session key and a live build; then publish its rendered config.

    Raises ProviderCheckError when the console refuses the provider."""
    provider = IdentityProvider(
        name=f"conformance {name}",
        preset="oidc",
        issuer=issuer,
        client_id=client_id,
        token_endpoint_auth_method=auth_method,
        scopes=list(scopes),
    )
    provider.client_secret = client_secret
    provider_check(provider)
    provider.save()
    host = f"{name}.localhost"
    site = site_create(
        client="Conformance",
        name=name,
        slug=name,
        hosts=[host],
        provider=provider,
        email_domains=list(email_domains),
        groups_claim=groups_claim,
        groups=list(groups),
    )
    build = Build.objects.create(site=site, prefix="builds/conformance", status=Build.Status.READY)
    site.live_build = build
    site.save(update_fields=["live_build"])
    doc = site_config_render(site)
    edge.publish(doc)
    return RpSite(
        host=host, origin=edge.origin(host), provider=provider, doc=doc, site_id=site.pk, log_offset=len(edge.log())
    )


def rp_site_republish(edge: RpEdge, site: RpSite) -> dict:
    """Render the site's config again (after a provider change) and publish it;
    waits out the gateway's one-second config cache."""
    from sites.models import ProtectedSite

    doc = site_config_render(ProtectedSite.objects.get(pk=site.site_id))
    edge.publish(doc)
    site.doc = doc
    time.sleep(1.3)
    return doc


# --- the viewer --------------------------------------------------------------


@dataclass
class Response:
    url: str
    status: int
    headers: list
    body: bytes

    def header(self, name):
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def location(self):
        return self.header("location")

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def set_cookies(self):
        """name -> value of each Set-Cookie (value "" for one that expires it)."""
        cookies = {}
        for key, value in self.headers:
            if key.lower() != "set-cookie":
                continue
            pair, *attributes = [part.strip() for part in value.split(";")]
            cookie_name, _, cookie_value = pair.partition("=")
            expired = any(a.lower() in ("max-age=0",) or a.lower().startswith("expires=thu, 01 jan 1970") for a in attributes)
            cookies[cookie_name] = "" if expired else cookie_value
        return cookies


@dataclass
class Viewer:
    """A browser reduced to what these tests need: navigations with a cookie
    jar per host name, redirects followed one at a time and kept."""

    jar: dict = field(default_factory=dict)
    history: list = field(default_factory=list)

    def get(self, url, *, navigate=True):
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or 80
        # *.localhost reaches loopback, as Chromium resolves it.
        connect_to = "127.0.0.1" if host.endswith(".localhost") or host == "localhost" else host
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": f"{host}:{port}", "Accept": "text/html,application/json;q=0.9", "User-Agent": "conformance-viewer"}
        if navigate:
            headers["Sec-Fetch-Mode"] = "navigate"
        cookies = self.jar.get(host, {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn = http.client.HTTPConnection(connect_to, port, timeout=15)
        try:
            conn.request("GET", path, headers=headers)
            raw = conn.getresponse()
            response = Response(url=url, status=raw.status, headers=raw.getheaders(), body=raw.read())
        finally:
            conn.close()
        jar = self.jar.setdefault(host, {})
        for name, value in response.set_cookies().items():
            if value:
                jar[name] = value
            else:
                jar.pop(name, None)
        self.history.append(response)
        return response

    def follow(self, url, *, hops=10):
        """GET `url` and follow redirects; returns every response, in order."""
        responses = [self.get(url)]
        while responses[-1].status in (301, 302, 303, 307, 308) and len(responses) <= hops:
            location = responses[-1].location
            base = urlsplit(responses[-1].url)
            if location.startswith("/"):
                location = f"{base.scheme}://{base.netloc}{location}"
            responses.append(self.get(location))
        return responses

    def cookies(self, host):
        return dict(self.jar.get(host, {}))

    def me(self, site):
        response = self.get(site.origin + "/_gatehouse/me", navigate=False)
        return response.status, json.loads(response.body or b"{}")


def query_of(url):
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def sign_in(viewer, site, path="/"):
    """Open `path` on the site as a viewer without a session; the scripted OP
    answers the authorization request at once. Returns the responses."""
    return viewer.follow(site.origin + path)


def callback_response(responses, site):
    """The edge's answer to the callback (the authorization response)."""
    return next(r for r in responses if r.url.startswith(site.callback))


def assert_signed_in(viewer, site, responses):
    final = responses[-1]
    assert final.status == 200, f"sign-in did not complete: {[(r.status, r.url[:80]) for r in responses]}\n{final.text[:500]}"
    assert TITLE in final.text
    assert SESSION_COOKIE in viewer.cookies(site.host)
    status, me = viewer.me(site)
    assert status == 200 and me["signed_in"] is True
    return me


def assert_reason(answer, edge, site, *words):
    """The refusal names its reason (any of `words`), on the page or in the
    edge's log since the site was onboarded."""
    log = edge.log()[site.log_offset :]
    assert any(w in answer.text or w in log for w in words), f"none of {words} is on the page or in the edge's log"


def assert_refused(viewer, site, responses):
    """The edge refused the sign-in: a small page (4xx, never 5xx), no session."""
    answer = callback_response(responses, site)
    assert 400 <= answer.status < 500, f"expected a refusal, got {answer.status}: {answer.text[:300]}"
    assert answer.header("content-type", ).startswith("text/html")
    assert SESSION_COOKIE not in viewer.cookies(site.host)
    assert "Traceback" not in answer.text
    status, me = viewer.me(site)
    assert status == 401 and me == {"signed_in": False}
    return answer


def scripted_site(edge: RpEdge, scripted_op, name: str, **behaviour) -> RpSite:
    """A site onboarded against the scripted OP's issuer `name`, which misbehaves as `behaviour` says."""
    issuer = scripted_op.issuer(name, **behaviour)
    return rp_site(edge, name=name, issuer=issuer, client_id=scripted_op.client_id, client_secret=scripted_op.client_secret)


def signed_in(site: RpSite):
    """A new viewer signs in to `site`; returns the viewer and what /_gatehouse/me says."""
    viewer = Viewer()
    return viewer, assert_signed_in(viewer, site, sign_in(viewer, site))


def refused(edge: RpEdge, site: RpSite, *words):
    """A new viewer's sign-in is refused, the refusal naming one of `words`; returns the refusal."""
    viewer = Viewer()
    answer = assert_refused(viewer, site, sign_in(viewer, site))
    if words:
        assert_reason(answer, edge, site, *words)
    return answer


@pytest.fixture(scope="module")
def rp_edge(moto_server, tmp_path_factory):
    edge = start_gateway(moto_server, tmp_path_factory.mktemp("rp-edge"))
    yield edge
    edge.gateway.stop()
