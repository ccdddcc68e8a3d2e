"""The npm ``oidc-provider`` (OpenID Certified) as a second real provider
beside devidp, end to end: the console's provider check against it, the
config it renders in S3 on moto's server, the edge behind the local gateway,
and Debian's Chromium signing in at its login page.

Its defaults differ from devidp's in the ways that broke Gatehouse (issue 7):
id_tokens signed with ES256 while discovery offers "ES256, RS256" and the key
set holds an EC and an RSA key; e-mail and groups only in the userinfo
response (conformant claims: ``conformIdTokenClaims``), never in the
id_token; PKCE required for every client. The happy path, discovery, ES256,
userinfo-only claims, PKCE and key rotation run against it here; the
misbehaving cases run against the scripted OP (test_rp_conformance_*.py).
"""

import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from tests.e2e.rp_support import SESSION_COOKIE, TITLE, rp_edge, rp_site  # noqa: F401 - rp_edge is a fixture
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def onboard(rp_edge, oidc_provider, name, **rules):
    rules.setdefault("email_domains", ("client.example",))
    return rp_site(
        rp_edge,
        name=name,
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
        scopes=("openid", "email", "profile", "groups"),
        **rules,
    )


def sign_in(page, site, oidc_provider, username, path="/"):
    page.goto(site.origin + path)
    assert page.url.startswith(oidc_provider.issuer + "/"), page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(oidc_provider.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.origin + "/**")


def me(page):
    return page.evaluate("fetch('/_gatehouse/me').then(r => r.json())")


def jwks_fetches(oidc_provider):
    return oidc_provider.log().count("GET /jwks")


def test_a_viewer_signs_in_at_oidc_provider_through_the_gateway_and_signs_out(rp_edge, oidc_provider, page):
    """The key end-to-end test: an ES256 id_token, the e-mail from userinfo,
    PKCE, then RP-initiated logout at oidc-provider's end_session_endpoint."""
    site = onboard(rp_edge, oidc_provider, "op-browser")
    authorize = []
    page.on("request", lambda r: authorize.append(r.url) if r.url.startswith(oidc_provider.issuer + "/auth?") else None)

    sign_in(page, site, oidc_provider, "ann", "/reports/q3?tab=2")
    assert page.url == site.origin + "/reports/q3?tab=2"
    assert page.get_by_role("heading", name=TITLE).is_visible()
    screenshot(page, "oidc-provider-signed-in")
    info = me(page)
    assert info["signed_in"] is True
    assert info["email"] == "ann@client.example" and info["email_verified"] is True
    (request,) = authorize
    assert "code_challenge_method=S256" in request and "code_challenge=" in request

    page.goto(site.origin + "/_gatehouse/sign-out")
    if not page.url.startswith(site.origin):
        # oidc-provider asks before it ends its session.
        page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(site.signed_out + "*")
    assert "Signed out" in page.content()
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    # The provider's session is over too: the next visit asks for a password.
    page.goto(site.origin + "/")
    assert page.get_by_label("Password").is_visible()


def test_discovery_at_oidc_provider_chooses_es256_and_its_keys(rp_edge, oidc_provider):
    """rp-discovery-openid-configuration and rp-discovery-jwks_uri-keys against
    a certified OP: the provider check reads its discovery document and key
    set, and the config it renders lets the edge verify what the OP signs.
    oidc-provider signs id_tokens with ES256 while discovery offers ES256 and
    RS256; the algorithms must come from discovery, intersected with the key
    set's key types (issue 7, item 2)."""
    discovery = oidc_provider.discovery()
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    site = onboard(rp_edge, oidc_provider, "op-discovery")
    provider = site.doc["provider"]
    assert provider["issuer"] == oidc_provider.issuer
    assert provider["authorization_endpoint"] == discovery["authorization_endpoint"]
    assert provider["token_endpoint"] == discovery["token_endpoint"]
    assert provider["userinfo_endpoint"] == discovery["userinfo_endpoint"]
    assert provider["end_session_endpoint"] == discovery["end_session_endpoint"]
    assert {k["kty"] for k in provider["jwks"]["keys"]} == {"EC", "RSA"}
    assert not any("d" in k for k in provider["jwks"]["keys"])
    assert "ES256" in provider["id_token_algs"]


def test_claims_only_in_userinfo_admit_by_groups_and_refuse_others(rp_edge, oidc_provider, browser):
    """rp-scope-userinfo-claims against a certified OP: e-mail and groups are
    released only through userinfo (scopes email and groups). A site whose
    only rule is the group admits ann (in demo-viewers) and refuses bob."""
    site = onboard(rp_edge, oidc_provider, "op-groups", email_domains=(), groups_claim="groups", groups=("demo-viewers",))
    for username, admitted in (("ann", True), ("bob", False)):
        context = browser.new_context()
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            page.goto(site.origin + "/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(oidc_provider.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(site.origin + "/**")
            if admitted:
                assert page.get_by_role("heading", name=TITLE).is_visible()
                assert me(page)["groups"] == ["demo-viewers"]
            else:
                assert "No access" in page.content()
                screenshot(page, "oidc-provider-refused-by-group")
                assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
        finally:
            context.close()


def test_oidc_provider_requires_pkce_and_the_edge_sends_it(rp_edge, oidc_provider, page):
    """PKCE: oidc-provider refuses an authorization request without a code
    challenge (so a sign-in that works proves the edge sent one, S256)."""
    site = onboard(rp_edge, oidc_provider, "op-pkce")
    query = urlencode(
        {"client_id": oidc_provider.client_id, "response_type": "code", "scope": "openid", "redirect_uri": site.callback, "state": "s"}
    )
    request = urllib.request.Request(f"{oidc_provider.issuer}/auth?{query}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=5)
        pytest.fail("oidc-provider answered an authorization request without PKCE")
    except urllib.error.HTTPError as answer:
        assert answer.code in (302, 303)
        location = answer.headers["Location"]
    assert location.startswith(site.callback) and "error=invalid_request" in location
    sign_in(page, site, oidc_provider, "ann")
    assert page.get_by_role("heading", name=TITLE).is_visible()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_rp_key_rotation_op_sign_key_at_oidc_provider(rp_edge, oidc_provider, browser):
    """rp-key-rotation-op-sign-key (``OIDCCClientTestSigningKeyRotation``)
    against a certified OP: a viewer signs in with the keys the console
    published; oidc-provider then replaces its keys (new kids, old ones
    gone); the next viewer's id_token names a kid the config does not have,
    and the edge fetches the new key set to verify it."""
    site = onboard(rp_edge, oidc_provider, "op-rotation")
    published = {k["kid"] for k in site.doc["provider"]["jwks"]["keys"]}
    contexts = []
    try:
        for step in ("before", "after"):
            if step == "after":
                new_kids = set(oidc_provider.rotate())
                assert not new_kids & published
                fetched = jwks_fetches(oidc_provider)
            context = browser.new_context()
            context.set_default_timeout(10_000)
            contexts.append(context)
            page = context.new_page()
            sign_in(page, site, oidc_provider, "ann")
            assert page.get_by_role("heading", name=TITLE).is_visible(), f"sign-in {step} the rotation failed"
        assert jwks_fetches(oidc_provider) > fetched, "the edge did not fetch the rotated keys"
        # The first viewer's session is not tied to the provider's keys.
        assert me(contexts[0].pages[0])["signed_in"] is True
    finally:
        for context in contexts:
            context.close()
