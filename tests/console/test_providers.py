"""Provider discovery and key refresh against a real local HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sites.models import IdentityProvider
from sites.services.providers import (
    ProviderCheckError,
    fetch_json,
    provider_check,
    provider_discover,
    provider_refresh_keys,
    providers_refresh_keys,
)

KEYS = {"keys": [{"kty": "EC", "kid": "e1", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}


class Provider:
    """A tiny HTTP server whose routes the tests set."""

    def __init__(self):
        self.routes = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, headers, body = outer.routes.get(self.path, (404, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, path, doc, status=200):
        self.routes[path] = (status, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    def discovery(self, issuer=None, **extra):
        issuer = issuer or self.origin
        doc = {
            "issuer": issuer,
            "authorization_endpoint": f"{self.origin}/authorize",
            "token_endpoint": f"{self.origin}/token",
            "userinfo_endpoint": f"{self.origin}/userinfo",
            "jwks_uri": f"{self.origin}/jwks",
            "id_token_signing_alg_values_supported": ["ES256", "HS256", "none"],
            **extra,
        }
        self.json("/.well-known/openid-configuration", doc)
        self.json("/jwks", KEYS)


@pytest.fixture
def idp():
    server = Provider()
    yield server
    server.server.shutdown()


def test_discovery_fills_endpoints_keys_and_safe_algorithms(idp):
    idp.discovery()
    meta = provider_discover(issuer=idp.origin)
    assert meta.token_endpoint == f"{idp.origin}/token"
    assert meta.jwks == KEYS
    assert meta.id_token_algs == ["ES256"]
    assert meta.end_session_endpoint == ""


def test_the_discovered_issuer_must_match_exactly(idp):
    idp.discovery(issuer=idp.origin + "/")
    with pytest.raises(ProviderCheckError) as exc:
        provider_discover(issuer=idp.origin)
    assert "must match exactly" in str(exc.value)


def test_private_keys_in_a_key_set_are_never_kept(idp):
    idp.discovery()
    idp.json("/jwks", {"keys": [dict(KEYS["keys"][0], d="private"), {"kty": "oct", "k": "c2VjcmV0"}]})
    with pytest.raises(ProviderCheckError, match="no public signing keys"):
        provider_discover(issuer=idp.origin)


def test_an_unreachable_provider_gives_a_clear_error():
    with pytest.raises(ProviderCheckError, match="unreachable"):
        fetch_json("http://127.0.0.1:9/.well-known/openid-configuration")


def test_an_error_status_is_reported(idp):
    with pytest.raises(ProviderCheckError, match="HTTP 404"):
        fetch_json(idp.origin + "/nothing")


def test_documents_over_512_kb_are_refused(idp):
    idp.routes["/big"] = (200, {}, b'{"a":"' + b"x" * (512 * 1024) + b'"}')
    with pytest.raises(ProviderCheckError, match="larger than 512 KB"):
        fetch_json(idp.origin + "/big")


def test_two_same_origin_redirects_are_followed_and_a_third_is_not(idp):
    idp.json("/doc", {"ok": True})
    idp.routes["/r1"] = (302, {"Location": "/r2"}, b"")
    idp.routes["/r2"] = (301, {"Location": "/doc"}, b"")
    assert fetch_json(idp.origin + "/r1") == {"ok": True}
    idp.routes["/r0"] = (302, {"Location": "/r1"}, b"")
    with pytest.raises(ProviderCheckError, match="more than 2"):
        fetch_json(idp.origin + "/r0")


def test_a_redirect_to_another_origin_is_refused(idp):
    idp.routes["/away"] = (302, {"Location": "http://localhost:1/doc"}, b"")
    with pytest.raises(ProviderCheckError, match="another origin"):
        fetch_json(idp.origin + "/away")


def test_outside_development_http_and_private_addresses_are_refused(settings):
    settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE = False
    with pytest.raises(ProviderCheckError, match="must use https"):
        fetch_json("http://127.0.0.1:8000/x")
    for url in ("https://127.0.0.1/x", "https://169.254.169.254/latest", "https://10.0.0.1/x", "https://[::1]/x", "https://localhost/x"):
        with pytest.raises(ProviderCheckError, match="private or local"):
            fetch_json(url)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 well-known prefix: 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64: 169.254.169.254, the instance metadata
        "64:ff9b::a00:1",  # NAT64: 10.0.0.1
        "64:ff9b:1::a00:1",  # NAT64 local-use prefix (RFC 8215)
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::a9fe:a9fe",  # IPv4-compatible (deprecated) 169.254.169.254
        "::ffff:a9fe:a9fe",  # IPv4-mapped
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(settings, address):
    settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE = False
    with pytest.raises(ProviderCheckError, match="private or local"):
        fetch_json(f"https://[{address}]/.well-known/openid-configuration")


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111", "8.8.8.8"])
def test_ipv6_forms_of_public_addresses_pass_the_address_check(settings, address):
    from sites.services.providers import _check_address

    settings.GATEHOUSE_PROVIDER_ALLOW_PRIVATE = False
    _check_address(address, "idp.example.com")  # no ProviderCheckError


def test_a_check_fills_an_unsaved_provider_from_its_preset_and_discovery(idp):
    idp.discovery()
    provider = IdentityProvider(name="Dev", preset="oidc", issuer=idp.origin, client_id="c")
    provider_check(provider)
    assert provider.jwks == KEYS
    assert provider.authorization_endpoint == f"{idp.origin}/authorize"
    assert provider.pk is None


@pytest.fixture
def local_provider(idp, site, provider):
    idp.discovery()
    IdentityProvider.objects.filter(pk=provider.pk).update(jwks_uri=f"{idp.origin}/jwks", jwks=KEYS)
    return provider


def test_refreshing_unchanged_keys_makes_no_revision(local_provider, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert provider_refresh_keys(provider_id=local_provider.pk) is False
    assert site.revisions.count() == 1


def test_when_the_provider_rotates_its_keys_a_new_revision_follows(idp, local_provider, site, django_capture_on_commit_callbacks):
    rotated = {"keys": KEYS["keys"] + [dict(KEYS["keys"][0], kid="e2")]}
    idp.json("/jwks", rotated)
    with django_capture_on_commit_callbacks(execute=True):
        assert providers_refresh_keys() == 1
    latest = site.revisions.first()
    assert latest.number == 2
    assert latest.document["provider"]["jwks"] == rotated
    assert "rotated its signing keys" in latest.reason


def test_a_failed_refresh_keeps_the_old_keys(idp, local_provider):
    idp.routes.pop("/jwks")
    assert provider_refresh_keys(provider_id=local_provider.pk) is False
    local_provider.refresh_from_db()
    assert local_provider.jwks == KEYS
    assert "HTTP 404" in local_provider.last_check_error
