"""Which provider keys verify an id_token: the published set wins, a refetched set expires.

Against the scripted provider (a real HTTP server on 127.0.0.1) whose
`/jwks` the edge refetches when a token names a kid the config lacks.
"""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_runtime import config, oidc
from tests.edge.factories import config_doc
from tests.edge.provider_stub import ProviderStub

NONCE = "nonce-1"


class Clock:
    def __init__(self):
        self.now = 10_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def provider():
    stub = ProviderStub()
    yield stub
    stub.close()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    # raising=False: the same test shows the defect on a runtime without the clock hook.
    monkeypatch.setattr(oidc, "_clock", clock, raising=False)
    monkeypatch.setattr(oidc, "_refetched", {})
    monkeypatch.setattr(oidc, "_last_refetch", {})
    return clock


def jwk(key, kid):
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())
    return {**json.loads(public), "kid": kid, "use": "sig", "alg": "RS256"}


def site(provider, published):
    """A parsed config whose provider section publishes exactly `published`."""
    return config.parse(config_doc(provider=provider.provider_section(jwks={"keys": [dict(k) for k in published]})))


def token(provider, key, kid):
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": "client-1", "sub": "user-1", "iat": now, "exp": now + 300, "nonce": NONCE}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def verify(cfg, id_token):
    return oidc.verify_id_token(cfg, id_token, NONCE, time.time(), oidc.Deadline(None))


@pytest.fixture(scope="module")
def extra_keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


def test_keys_the_console_publishes_after_a_refetch_are_used(provider, clock, extra_keys):
    # The provider adds rsa2; a token with it makes the edge refetch.
    provider.publish_rotated_key()
    first = site(provider, [jwk(provider.rsa_key, "rsa1")])
    assert verify(first, token(provider, provider.rotated_key, "rsa2"))["sub"] == "user-1"
    assert provider.jwks_requests == 1
    # Later the provider adds rsa3 and the console publishes it. The edge must
    # use the published key, not keep trusting the set it refetched before.
    rsa3 = extra_keys[0]
    provider.published["keys"].append(jwk(rsa3, "rsa3"))
    newer = site(provider, [jwk(provider.rsa_key, "rsa1"), jwk(provider.rotated_key, "rsa2"), jwk(rsa3, "rsa3")])
    clock.now += 10  # well inside the refetch interval: no second fetch allowed
    assert verify(newer, token(provider, rsa3, "rsa3"))["sub"] == "user-1"
    assert verify(newer, token(provider, provider.rsa_key, "rsa1"))["sub"] == "user-1"
    assert provider.jwks_requests == 1


def test_the_published_key_of_a_kid_wins_over_a_refetched_key_of_that_kid(provider, clock, extra_keys):
    published = jwk(provider.rsa_key, "rsa1")
    other = extra_keys[1]
    # The jwks_uri now answers another key under rsa1, and a new rsa2.
    provider.published["keys"] = [jwk(other, "rsa1"), jwk(provider.rotated_key, "rsa2")]
    cfg = site(provider, [published])
    assert verify(cfg, token(provider, provider.rotated_key, "rsa2"))["sub"] == "user-1"
    assert provider.jwks_requests == 1
    assert verify(cfg, token(provider, provider.rsa_key, "rsa1"))["sub"] == "user-1"
    with pytest.raises(oidc.TokenInvalid, match="signature"):
        verify(cfg, token(provider, other, "rsa1"))


def test_a_refetched_key_set_expires(provider, clock):
    provider.publish_rotated_key()
    cfg = site(provider, [jwk(provider.rsa_key, "rsa1")])
    rotated = token(provider, provider.rotated_key, "rsa2")
    assert verify(cfg, rotated)["sub"] == "user-1"
    # The provider withdraws rsa2 and the console never published it.
    provider.published["keys"] = [k for k in provider.published["keys"] if k["kid"] != "rsa2"]
    clock.now += oidc.JWKS_REFETCH_INTERVAL + 1
    assert verify(cfg, rotated)["sub"] == "user-1"  # still inside the TTL: trusted
    assert provider.jwks_requests == 1
    clock.now += 3600
    with pytest.raises(oidc.TokenInvalid, match="signature"):
        verify(cfg, rotated)
    # Expired, so the edge asked again and learnt that rsa2 is gone.
    assert provider.jwks_requests == 2


def test_a_rereading_of_the_same_config_keeps_the_refetched_set(provider, clock):
    # The store parses the same document again every cache period: that is
    # not a new published set and must not cost another fetch.
    provider.publish_rotated_key()
    published = [jwk(provider.rsa_key, "rsa1")]
    assert verify(site(provider, published), token(provider, provider.rotated_key, "rsa2"))
    clock.now += 60
    assert verify(site(provider, published), token(provider, provider.rotated_key, "rsa2"))
    assert provider.jwks_requests == 1


def test_a_kid_nobody_publishes_is_refused_and_refetched_at_most_once_per_interval(provider, clock, extra_keys):
    cfg = site(provider, [jwk(provider.rsa_key, "rsa1")])
    stranger = token(provider, extra_keys[0], "nobody")
    for _ in range(3):
        with pytest.raises(oidc.TokenInvalid, match="signature"):
            verify(cfg, stranger)
    assert provider.jwks_requests == 1
    clock.now += oidc.JWKS_REFETCH_INTERVAL + 1
    with pytest.raises(oidc.TokenInvalid):
        verify(cfg, stranger)
    assert provider.jwks_requests == 2


def test_a_token_without_kid_verifies_with_the_one_published_key_of_its_type(provider, clock):
    # rp-id_token-kid-absent-single-jwks, through verify_id_token.
    keys = [{k: v for k, v in jwk(provider.rsa_key, "x").items() if k != "kid"}]
    keys.append({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    cfg = site(provider, keys)
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": "client-1", "sub": "user-1", "iat": now, "exp": now + 300, "nonce": NONCE}
    assert verify(cfg, jwt.encode(claims, provider.rsa_key, algorithm="RS256"))["sub"] == "user-1"
    assert provider.jwks_requests == 0
