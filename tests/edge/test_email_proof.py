"""How each provider proves an e-mail address, through the handler.

The id_tokens below carry the claims each provider really sends (shapes from
the providers' own token references and sample tokens), minus `iss`/`aud`,
which must be the stub's own for the signature checks to pass. Each test signs
in through the callback and then makes a second request with the session
cookie, so both the sign-in and every later request are judged.
"""

import pytest

from edge_runtime import config, handler
from tests.edge.factories import config_doc
from tests.edge.test_handler import (  # noqa: F401  (fixtures)
    callback,
    cookie_pair,
    event,
    make_site,
    provider,
    run,
    set_cookies,
    sign_in,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0f5e4c1a-9a3b-4d2e-8f61-5b7c9d0e1a2b"

AUTH0 = {
    "sub": "auth0|64f1c2d3e4f5a6b7c8d9e0f1",
    "given_name": "Ann",
    "family_name": "Lee",
    "nickname": "ann",
    "name": "Ann Lee",
    "picture": "https://s.gravatar.com/avatar/0c1d2e3f?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fal.png",
    "updated_at": "2026-11-30T09:12:44.511Z",
    "email": "ann@client.example",
    "email_verified": True,
    "sid": "kT3x9QmZ4pLw8YbN2cVd",
}
COGNITO = {
    "sub": "5b1a2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    "email_verified": True,
    "cognito:username": "5b1a2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    "origin_jti": "9f8e7d6c-5b4a-3c2d-1e0f-a1b2c3d4e5f6",
    "event_id": "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "token_use": "id",
    "auth_time": 1764580000,
    "jti": "d4c3b2a1-0f9e-8d7c-6b5a-4f3e2d1c0b9a",
    "email": "ann@client.example",
}
OKTA = {
    "sub": "00u1a2b3c4D5e6F7g8h9",
    "name": "Ann Lee",
    "email": "ann@client.example",
    "email_verified": True,
    "ver": 1,
    "jti": "ID.x7Yb3kQ9mP2wL5nR8tV1cZ4dF6gH0jK",
    "amr": ["pwd"],
    "idp": "00o1a2b3c4D5e6F7g8h9",
    "preferred_username": "ann@client.example",
    "auth_time": 1764580000,
    "at_hash": "mB4n8Xq2Vz6Lp0Rt3Wy5Ua",
}
GOOGLE_WORKSPACE = {
    "azp": "client-1",
    "sub": "110169484474386276334",
    "hd": "consultancy.example",
    "email": "bob@consultancy.example",
    "email_verified": True,
    "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
    "name": "Bob Ray",
    "picture": "https://lh3.googleusercontent.com/a/ACg8ocJ1",
    "given_name": "Bob",
    "family_name": "Ray",
}
ENTRA = {
    "aio": "AWQAm/8ZAAAAv0nO0b6Ia2fQ2kqQ8e4kK1u0p4O2Q==",
    "email": "ann@client.example",
    "name": "Ann Lee",
    "oid": "00000000-0000-0000-66f3-3332eca7ea81",
    "preferred_username": "ann@client.example",
    "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR8qrJmYtrSdFvpSDcP7hsFcaAAA.",
    "sid": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    "tid": TENANT,
    "uti": "fqiBqXLPj0eQa82S-IYFAA",
    "ver": "2.0",
    "nbf": 1764580000,
    "xms_edov": True,
}


def _signs_in(cfg, provider, claims, *, userinfo=None):
    """True when the viewer gets a session, and the session then opens a page."""
    provider.id_token_claims = claims
    # The id_token lacking a claim the rules need makes the edge ask userinfo.
    provider.userinfo = userinfo or {"sub": claims.get("sub", "user-1")}
    state, nonce, tx, _ = sign_in("/reports", "")
    response = callback(state, nonce, tx)
    if response["status"] == "403":
        return False
    assert response["status"] == "302", response.get("body")
    session = next(c for c in set_cookies(response) if c.startswith(handler.SESSION_COOKIE + "="))
    later = run(event("/reports", cookies=[cookie_pair(session)]))
    assert "status" not in later, "signed in, but the session is refused on the next request"
    return True


@pytest.fixture
def site_for(make_site, provider):
    def make(proof, *, emails=("ann@client.example",), domains=("consultancy.example",), tenant_id=None):
        return make_site(
            provider=provider.provider_section(email_proof=proof, tenant_id=tenant_id),
            access={"emails": list(emails), "email_domains": list(domains)},
        )

    return make


# --- Auth0, Okta, generic OpenID: `email_verified` ------------------------------


def test_auth0_admits_a_verified_address_and_refuses_an_unverified_signup(site_for, provider):
    cfg = site_for("email_verified")
    assert _signs_in(cfg, provider, AUTH0)
    assert not _signs_in(cfg, provider, dict(AUTH0, email_verified=False))


def test_okta_admits_a_verified_address_and_its_domain(site_for, provider):
    cfg = site_for("email_verified", emails=())
    assert _signs_in(cfg, provider, dict(OKTA, email="eve@consultancy.example"))
    assert not _signs_in(cfg, provider, dict(OKTA, email="eve@consultancy.example", email_verified=...))


def test_the_standard_proof_takes_only_a_json_true(site_for, provider):
    cfg = site_for("email_verified")
    assert not _signs_in(cfg, provider, dict(AUTH0, email_verified="true"))


# --- Cognito -----------------------------------------------------------------------


def test_cognito_admits_a_verified_address_from_its_id_token(site_for, provider):
    assert _signs_in(site_for("cognito"), provider, COGNITO)


def test_cognito_userinfo_string_true_counts_as_verified(site_for, provider):
    # Fails on main: Cognito's userInfo endpoint sends "email_verified": "true".
    cfg = site_for("cognito")
    id_token = dict(COGNITO, email=..., email_verified=...)
    userinfo = {"sub": COGNITO["sub"], "email": "ann@client.example", "email_verified": "true", "username": "ann"}
    assert _signs_in(cfg, provider, id_token, userinfo=userinfo)
    userinfo["email_verified"] = "false"
    assert not _signs_in(cfg, provider, id_token, userinfo=userinfo)


# --- Google ----------------------------------------------------------------------


def test_google_domain_rules_match_the_workspace_domain(site_for, provider):
    cfg = site_for("google", emails=())
    assert _signs_in(cfg, provider, GOOGLE_WORKSPACE)
    # A Workspace address on a secondary domain still belongs to `hd`'s organisation.
    assert _signs_in(cfg, provider, dict(GOOGLE_WORKSPACE, email="bob@consultancy-uk.example"))


def test_google_consumer_account_with_a_work_address_is_not_the_workspace(site_for, provider):
    # Fails on main: a personal Google account registered with a work address
    # (verified once, at sign-up) has no `hd`; it passed the domain rule.
    cfg = site_for("google", emails=())
    assert not _signs_in(cfg, provider, dict(GOOGLE_WORKSPACE, hd=...))


def test_google_gmail_addresses_pass_exact_rules_but_never_a_domain_rule(site_for, provider):
    gmail = dict(GOOGLE_WORKSPACE, hd=..., email="ann.lee@gmail.com")
    assert _signs_in(site_for("google", emails=("ann.lee@gmail.com",), domains=()), provider, gmail)
    assert not _signs_in(site_for("google", emails=(), domains=("gmail.com",)), provider, gmail)


def test_google_exact_address_outside_gmail_needs_the_workspace(site_for, provider):
    cfg = site_for("google", emails=("bob@consultancy.example",), domains=())
    assert _signs_in(cfg, provider, GOOGLE_WORKSPACE)
    assert not _signs_in(cfg, provider, dict(GOOGLE_WORKSPACE, hd=...))
    assert not _signs_in(cfg, provider, dict(GOOGLE_WORKSPACE, email_verified=False))


# --- Microsoft Entra ID (v2 tokens) ---------------------------------------------------


def test_entra_admits_an_address_whose_domain_the_tenant_verified(site_for, provider):
    # Fails on main: Entra sends no email_verified, so nobody got in by e-mail.
    cfg = site_for("entra", tenant_id=TENANT)
    assert _signs_in(cfg, provider, ENTRA)
    assert _signs_in(cfg, provider, dict(ENTRA, email="eve@consultancy.example", xms_edov="1"))


def test_entra_email_without_xms_edov_is_not_proof(site_for, provider):
    # nOAuth: a user without a mailbox can set any address as their mail attribute.
    cfg = site_for("entra", tenant_id=TENANT)
    assert not _signs_in(cfg, provider, dict(ENTRA, xms_edov=...))
    assert not _signs_in(cfg, provider, dict(ENTRA, xms_edov=False))
    assert not _signs_in(cfg, provider, dict(ENTRA, xms_edov=..., email_verified=True))


def test_entra_never_takes_preferred_username_or_upn_for_an_address(site_for, provider):
    cfg = site_for("entra", tenant_id=TENANT)
    claims = dict(ENTRA, email=..., xms_edov=..., upn="ann@client.example")
    assert not _signs_in(cfg, provider, claims)


def test_entra_proof_is_bound_to_the_configured_tenant(make_site, provider):
    cfg = make_site(provider=provider.provider_section(email_proof="entra", tenant_id=TENANT))
    session_claims = {"sub": "s", "email": "ann@client.example", "xms_edov": True}
    assert handler.allowed(cfg, dict(session_claims, tid=TENANT))
    assert not handler.allowed(cfg, dict(session_claims, tid=OTHER_TENANT))
    assert not handler.allowed(cfg, session_claims)


def test_a_session_keeps_only_the_claims_the_proof_reads(site_for, provider):
    from edge_runtime import tokens

    cfg = site_for("entra", tenant_id=TENANT)
    provider.id_token_claims = ENTRA
    state, nonce, tx, _ = sign_in("/", "")
    response = callback(state, nonce, tx)
    session = next(c for c in set_cookies(response) if c.startswith(handler.SESSION_COOKIE + "="))
    claims = tokens.verify(cfg, tokens.SESSION, cookie_pair(session).split("=", 1)[1], float(ENTRA["nbf"]) + 1)
    assert {"tid", "xms_edov", "email"} <= set(claims)
    assert not {"oid", "aio", "rh", "uti", "preferred_username"} & set(claims)


# --- the config field ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_fields", "problem"),
    [
        ({"email_proof": "magic"}, "must be one of"),
        ({"email_proof": "entra", "tenant_id": None}, "needs a tenant_id"),
    ],
)
def test_the_validator_refuses_a_bad_email_proof(provider_fields, problem):
    with pytest.raises(config.ConfigError, match=problem):
        config.validate(config_doc(provider=provider_fields))


def test_email_proof_is_a_schema_2_field():
    doc = config_doc(provider={"email_proof": "google"})
    config.validate(doc)
    with pytest.raises(config.ConfigError, match="needs schema version 2"):
        config.validate(dict(doc, schema_version=1))
    old = config.for_schema(doc, 1)
    assert "email_proof" not in old["provider"]
    assert config.parse(old).email_proof == "email_verified"
