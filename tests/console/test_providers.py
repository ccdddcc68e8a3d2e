"""Provider discovery and key refresh against a real local HTTP server."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from sites.models import IdentityProvider
from sites.services.providers import (
    ProviderCheckError,
    fetch_json,
    provider_check,
    provider_discover,
    provider_refresh_keys,
    providers_refresh_keys,
)
from tests.console.pages_support import fast_passwords, staff_client  # noqa: F401

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


# --- which id_token algorithms a provider gets ----------------------------------

RSA_KEY = {"kty": "RSA", "kid": "r1", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"}
P384_KEY = {"kty": "EC", "kid": "e384", "crv": "P-384", "x": "x", "y": "y"}


def _check_new(idp, *, secret="", method="client_secret_basic"):
    provider = IdentityProvider(name="Dev", preset="oidc", issuer=idp.origin, client_id="c", token_endpoint_auth_method=method)
    if secret:
        provider.client_secret = secret
    assert provider.id_token_algs == ["RS256"]  # the model's default
    provider_check(provider)
    return provider.id_token_algs


def test_a_new_provider_that_signs_es256_gets_es256_not_the_rs256_default(idp):
    # Fails on main: the default ["RS256"] overlapped discovery's list, so it
    # was kept, and every sign-in failed with "alg ES256 is not allowed here".
    idp.discovery(id_token_signing_alg_values_supported=["ES256", "RS256"])
    assert _check_new(idp) == ["ES256"]


def test_algorithms_follow_the_key_types_in_the_key_set(idp):
    idp.discovery(id_token_signing_alg_values_supported=["ES256", "ES384", "RS256", "PS256", "EdDSA"])
    idp.json("/jwks", {"keys": [RSA_KEY]})
    assert _check_new(idp) == ["RS256", "PS256"]
    idp.json("/jwks", {"keys": [RSA_KEY, KEYS["keys"][0], P384_KEY]})
    assert _check_new(idp) == ["ES256", "ES384", "RS256", "PS256"]


def test_a_key_that_names_its_algorithm_or_is_for_encryption_limits_the_choice(idp):
    idp.discovery(id_token_signing_alg_values_supported=["RS256", "PS256", "ES256"])
    idp.json("/jwks", {"keys": [dict(RSA_KEY, alg="PS256"), dict(KEYS["keys"][0], use="enc")]})
    assert _check_new(idp) == ["PS256"]


def test_hs256_only_with_a_client_secret_long_enough_to_be_its_key(idp):
    idp.discovery(id_token_signing_alg_values_supported=["HS256", "ES256"])
    assert _check_new(idp, secret="s" * 32) == ["HS256", "ES256"]
    assert _check_new(idp, secret="s" * 31) == ["ES256"]
    assert _check_new(idp, secret="s" * 40, method="none") == ["ES256"]


def test_a_provider_without_the_discovery_list_gets_rs256(idp):
    idp.discovery()
    doc = json.loads(idp.routes["/.well-known/openid-configuration"][2])
    del doc["id_token_signing_alg_values_supported"]
    idp.json("/.well-known/openid-configuration", doc)
    idp.json("/jwks", {"keys": [RSA_KEY]})
    assert _check_new(idp) == ["RS256"]


def test_when_no_algorithm_fits_the_check_says_why(idp):
    idp.discovery(id_token_signing_alg_values_supported=["ES256"])
    idp.json("/jwks", {"keys": [RSA_KEY]})
    with pytest.raises(ProviderCheckError, match=r"signs with ES256.*its keys are RSA"):
        _check_new(idp)


def test_a_provider_checked_again_takes_the_algorithms_anew(idp):
    idp.discovery(id_token_signing_alg_values_supported=["RS256", "ES256"])
    provider = IdentityProvider(name="Dev", preset="oidc", issuer=idp.origin, client_id="c", id_token_algs=["RS256", "PS256"])
    provider_check(provider)
    assert provider.id_token_algs == ["ES256"]


def test_the_chosen_algorithms_reach_the_published_config(idp, site, provider):
    from sites.rendering import site_config_render

    idp.discovery(id_token_signing_alg_values_supported=["ES256", "RS256"])
    provider.preset, provider.issuer = "oidc", idp.origin
    provider_check(provider)
    provider.save()
    site.refresh_from_db()
    assert site_config_render(site)["provider"]["id_token_algs"] == ["ES256"]


def test_the_provider_check_page_shows_the_algorithms_chosen(idp, staff_client):
    idp.discovery(id_token_signing_alg_values_supported=["ES256", "RS256", "HS256"])
    fields = {
        "provider_choice": "new",
        "provider_preset": "oidc",
        "provider_issuer": idp.origin,
        "provider_token_endpoint_auth_method": "client_secret_basic",
        "provider_scopes": "openid email",
    }
    page = staff_client.post(reverse("sites:provider_check"), fields).content.decode()
    assert 'data-ok="true"' in page
    chosen = re.search(r'<dd id="check-algs">(.*?)</dd>', page, re.S)[1]
    assert "<strong>ES256</strong>" in chosen
    assert "the provider lists ES256, RS256, HS256" in chosen


def test_keys_rotated_to_another_type_bring_their_algorithms(idp, local_provider, site, django_capture_on_commit_callbacks):
    discovery = {"id_token_signing_alg_values_supported": ["ES256", "RS256"]}
    IdentityProvider.objects.filter(pk=local_provider.pk).update(discovery=discovery, id_token_algs=["ES256"])
    idp.json("/jwks", {"keys": [RSA_KEY]})
    with django_capture_on_commit_callbacks(execute=True):
        assert provider_refresh_keys(provider_id=local_provider.pk) is True
    local_provider.refresh_from_db()
    assert local_provider.id_token_algs == ["RS256"]
    assert site.revisions.first().document["provider"]["id_token_algs"] == ["RS256"]


def test_rotated_keys_that_fit_no_algorithm_keep_the_current_ones(idp, local_provider):
    IdentityProvider.objects.filter(pk=local_provider.pk).update(
        discovery={"id_token_signing_alg_values_supported": ["ES256"]}, id_token_algs=["ES256"]
    )
    idp.json("/jwks", {"keys": [RSA_KEY]})
    assert provider_refresh_keys(provider_id=local_provider.pk) is True
    local_provider.refresh_from_db()
    assert local_provider.id_token_algs == ["ES256"]


def test_a_provider_saved_with_the_old_rs256_default_is_put_right_at_the_next_refresh(idp, local_provider, site, django_capture_on_commit_callbacks):
    # Fails on main: an ES256 provider saved with ["RS256"] stayed broken.
    IdentityProvider.objects.filter(pk=local_provider.pk).update(
        discovery={"id_token_signing_alg_values_supported": ["ES256", "RS256"]}, id_token_algs=["RS256"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert provider_refresh_keys(provider_id=local_provider.pk) is True
    local_provider.refresh_from_db()
    assert local_provider.id_token_algs == ["ES256"]
    assert site.revisions.first().document["provider"]["id_token_algs"] == ["ES256"]
    with django_capture_on_commit_callbacks(execute=True):
        assert provider_refresh_keys(provider_id=local_provider.pk) is False
def test_a_check_records_whether_the_provider_sends_iss_with_authorization_responses(idp):
    idp.discovery(authorization_response_iss_parameter_supported=True)
    provider = IdentityProvider(name="Dev", preset="oidc", issuer=idp.origin, client_id="c")
    provider_check(provider)
    assert provider.sends_authorization_response_iss is True
    idp.discovery()
    provider_check(provider)
    assert provider.sends_authorization_response_iss is False
