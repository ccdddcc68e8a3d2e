"""OpenID Foundation RP certification, Config RP profile (discovery and key
rotation), end to end.

One test per test ID of the suite's Config RP plan
(openid-certification/conformance-suite,
``net.openid.conformance.openid.client.OIDCCClientConfigTestPlan``; the
classes are in ``openid/client/config/``). The console's provider check
(``sites.services.providers.provider_check``) is the RP's discovery step: it
fetches the OP's configuration and keys over HTTP and the rendered config
carries them to the edge. rp-id_token-sig-none is in that plan too; its test
is in test_rp_conformance_basic.py.
"""

import pytest

from sites.services.providers import ProviderCheckError
from tests.e2e.rp_support import (
    Viewer,
    assert_signed_in,
    rp_edge,  # noqa: F401 - the fixture
    rp_site,
    rp_site_republish,
    scripted_site,
    sign_in,
    signed_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_rp_discovery_openid_configuration(rp_edge, scripted_op):
    """rp-discovery-openid-configuration: ``OIDCCClientTestDiscoveryOpenIDConfiguration``
    ("The client is expected to retrieve and use the OpenID Provider
    Configuration Information"; the suite finishes once discovery is fetched).
    The console fetches ``<issuer>/.well-known/openid-configuration`` before
    anything else, and the edge then uses what it names: the authorization,
    token and userinfo endpoints and the issuer the id_token must carry."""
    name = "rp-discovery-openid-configuration"
    site = scripted_site(rp_edge, scripted_op, name)
    first = scripted_op.requests(name)[0]
    assert first["path"] == "/.well-known/openid-configuration"
    provider = site.doc["provider"]
    base = f"{scripted_op.base}/t/{name}"
    assert provider["issuer"] == base
    assert provider["authorization_endpoint"] == base + "/authorize"
    assert provider["token_endpoint"] == base + "/token"
    assert provider["userinfo_endpoint"] == base + "/userinfo"
    assert provider["end_session_endpoint"] == base + "/end_session"
    viewer = Viewer()
    responses = sign_in(viewer, site)
    assert responses[1].url.startswith(base + "/authorize?")
    assert_signed_in(viewer, site, responses)
    assert [r["path"] for r in scripted_op.requests(name)][-3:] == ["/authorize", "/token", "/userinfo"]


def test_rp_discovery_jwks_uri_keys(rp_edge, scripted_op):
    """rp-discovery-jwks_uri-keys: ``OIDCCClientTestDiscoveryJwksUriKeys``
    (``AddRandomJwksUriToServerConfiguration``: the jwks_uri path changes every
    run, so only an RP that read discovery finds it; ``checkIfDiscoveryCalled``
    and ``checkIfJWKCalled`` fail a jwks request before discovery, or a
    userinfo request before the keys were fetched). The console fetches the
    keys from the discovered jwks_uri, the config carries them, and the edge
    verifies the id_token with them."""
    name = "rp-discovery-jwks-uri-keys"
    suffix = "Qx7RmZkTwa"
    site = scripted_site(rp_edge, scripted_op, name, jwks_path_suffix=suffix)
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert seen == ["/.well-known/openid-configuration", "/jwks" + suffix]
    published = {k.get("kid") for k in site.doc["provider"]["jwks"]["keys"]}
    assert published == {k.get("kid") for k in scripted_op_keys(scripted_op, name, suffix)}
    signed_in(site)
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert seen.index("/jwks" + suffix) < seen.index("/userinfo")


def scripted_op_keys(scripted_op, name, suffix=""):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{scripted_op.base}/t/{name}/jwks{suffix}", timeout=5) as response:
        return json.loads(response.read())["keys"]


def test_rp_discovery_issuer_not_matching_config(rp_edge, scripted_op):
    """rp-discovery-issuer-not-matching-config: ``OIDCCClientTestDiscoveryIssuerMismatch``
    (``ChangeIssuerInServerConfigurationToBeInvalid``: "INVALID" appended to
    the discovered issuer; ``handleAuthorizationEndpointRequest`` fails the RP
    if it goes on to send an authorization request). The console's provider
    check refuses the provider, so no provider row, no config and no
    authorization request ever exist."""
    name = "rp-discovery-issuer-not-matching-config"
    issuer = scripted_op.issuer(name, discovery_issuer_append="INVALID")
    with pytest.raises(ProviderCheckError, match="issuer"):
        rp_site(rp_edge, name=name, issuer=issuer, client_id=scripted_op.client_id, client_secret=scripted_op.client_secret)
    from sites.models import IdentityProvider

    assert not IdentityProvider.objects.filter(issuer__startswith=issuer).exists()
    assert [r["path"] for r in scripted_op.requests(name)] == ["/.well-known/openid-configuration"]


def test_rp_key_rotation_op_sign_key_native(rp_edge, scripted_op):
    """rp-key-rotation-op-sign-key-native: ``OIDCCClientTestSigningKeyRotationJustBeforeSigning``
    ("Keys will be rotated right before signing the id_token so the client
    needs to refetch the jwks to validate the signature"; the whole key set
    is replaced, new kids). The console published the keys it fetched at the
    provider check; the id_token names a kid that is not among them, so the
    edge refetches the jwks_uri once and verifies with the new key."""
    name = "rp-key-rotation-op-sign-key-native"
    site = scripted_site(rp_edge, scripted_op, name, rotate="before_signing")
    published = {k.get("kid") for k in site.doc["provider"]["jwks"]["keys"]}
    signed_in(site)
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert "/jwks" in seen[seen.index("/token") :], f"the edge did not refetch the keys: {seen}"
    now = {k.get("kid") for k in scripted_op_keys(scripted_op, name)}
    assert not published & now


def test_rp_key_rotation_op_sign_key(rp_edge, scripted_op):
    """rp-key-rotation-op-sign-key: ``OIDCCClientTestSigningKeyRotation``
    ("Keys will be rotated after the first ID token is issued so the client
    needs to refetch the jwks to validate the second ID token"; the suite
    rotates at the second authorization request and finishes only after a
    second jwks request and a second userinfo request). Two viewers sign in
    one after the other: the first with the published keys, the second with
    keys the edge fetches when it meets the unknown kid."""
    name = "rp-key-rotation-op-sign-key"
    site = scripted_site(rp_edge, scripted_op, name, rotate="second_authorization")
    first = Viewer()
    assert_signed_in(first, site, sign_in(first, site))
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert seen.count("/jwks") == 1, "the first id_token verifies with the keys the console published"
    second = Viewer()
    assert_signed_in(second, site, sign_in(second, site))
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert seen.count("/jwks") == 2, f"the edge did not fetch the rotated keys: {seen}"
    assert seen.count("/userinfo") == 2
    # The first viewer's session does not depend on the provider's keys.
    status, me = first.me(site)
    assert status == 200 and me["signed_in"] is True


def test_rp_key_rotation_op_sign_key_twice_the_published_keys_win(rp_edge, scripted_op):
    """rp-key-rotation-op-sign-key carried one step further, as a provider
    that rotates every few weeks does: the edge refetched the first rotated
    set; the provider rotates again, and the console's key refresh (the beat
    task, ``provider_refresh_keys``) publishes the new set in the config.
    The published set must win over the one the edge refetched earlier
    (issue 7, item 5), so the next viewer signs in at once, without waiting
    for the edge's refetch interval."""
    from sites.services.providers import provider_refresh_keys

    name = "rp-key-rotation-twice"
    site = scripted_site(rp_edge, scripted_op, name)
    scripted_op.rotate(name)
    first = Viewer()
    assert_signed_in(first, site, sign_in(first, site))  # the edge refetches the rotated set

    scripted_op.rotate(name)
    assert provider_refresh_keys(provider_id=site.provider.pk) is True
    doc = rp_site_republish(rp_edge, site)
    assert {k.get("kid") for k in doc["provider"]["jwks"]["keys"]} == {k.get("kid") for k in scripted_op_keys(scripted_op, name)}
    second = Viewer()
    assert_signed_in(second, site, sign_in(second, site))
