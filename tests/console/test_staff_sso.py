"""Staff single sign-on: who gets in with which role, and a failed callback is a message, not an error page.

The whole flow against devidp in a browser is tests/e2e/test_staff_sso.py.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from sites.models import Activity, StaffIdentity
from sites.roles import role_of
from sites.services.staff import staff_role_from_claims, staff_sign_in
from sites.staff_auth import _id_token_checks

ISSUER = "https://login.consultancy.example"
ROLE_MAP = {"gatehouse-admins": "admin", "gatehouse-operators": "operator", "gatehouse-viewers": "viewer"}


@pytest.fixture
def sso(settings):
    settings.GATEHOUSE_STAFF_OIDC_ENABLED = True
    settings.GATEHOUSE_STAFF_OIDC_ISSUER = ISSUER
    settings.GATEHOUSE_STAFF_OIDC_AUTHORIZATION_ENDPOINT = ISSUER + "/authorize"
    settings.GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT = ISSUER + "/token"
    settings.GATEHOUSE_STAFF_OIDC_USERINFO_ENDPOINT = ISSUER + "/userinfo"
    settings.GATEHOUSE_STAFF_OIDC_JWKS_URI = ISSUER + "/jwks"
    settings.GATEHOUSE_STAFF_OIDC_CLIENT_ID = "console"
    settings.GATEHOUSE_STAFF_OIDC_CLIENT_SECRET = "s3cret-console"
    settings.GATEHOUSE_STAFF_OIDC_NAME = "Consultancy SSO"
    settings.GATEHOUSE_STAFF_OIDC_ROLE_MAP = ROLE_MAP
    settings.GATEHOUSE_STAFF_OIDC_EMAIL_DOMAINS = ["consultancy.example"]
    return settings


def claims(sub="s-1", groups=(), email="sam@consultancy.example", verified=True):
    return {"sub": sub, "email": email, "email_verified": verified, "groups": list(groups), "given_name": "Sam"}


@pytest.mark.parametrize(
    "groups, role",
    [
        (["gatehouse-viewers"], "viewer"),
        (["staff", "gatehouse-operators"], "operator"),
        (["gatehouse-viewers", "gatehouse-admins"], "admin"),  # the highest wins
        (["staff"], None),
        ([], None),
    ],
)
def test_groups_map_to_the_highest_role(sso, groups, role):
    assert staff_role_from_claims({"groups": groups}) == role


def test_a_string_claim_counts_as_one_group_and_other_shapes_as_none(sso):
    assert staff_role_from_claims({"groups": "gatehouse-admins"}) == "admin"
    assert staff_role_from_claims({"groups": {"gatehouse-admins": 1}}) is None
    assert staff_role_from_claims({}) is None


def test_a_first_sign_in_makes_a_staff_account_with_the_mapped_role(sso, db):
    result = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-operators"]))
    user = result.user
    assert user.is_staff and not user.has_usable_password()
    assert user.username == "sam@consultancy.example" and user.first_name == "Sam"
    assert role_of(user) == "operator"
    assert StaffIdentity.objects.get(user=user).subject == "s-1"
    assert Activity.objects.filter(verb="staff.created", actor=user).exists()


def test_the_provider_decides_the_role_at_every_sign_in(sso, db):
    user = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-admins"])).user
    assert role_of(user) == "admin"
    again = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-viewers"])).user
    assert again.pk == user.pk
    assert role_of(again) == "viewer"
    # Out of every Gatehouse group, but in the allowed domain: signed in, no role.
    last = staff_sign_in(issuer=ISSUER, claims=claims(groups=["staff"])).user
    assert last.pk == user.pk and role_of(last) is None


def test_an_allowed_domain_with_no_mapped_group_gets_an_account_with_no_role(sso, db):
    user = staff_sign_in(issuer=ISSUER, claims=claims(groups=["staff"])).user
    assert user.is_staff and role_of(user) is None


@pytest.mark.parametrize(
    "who",
    [
        claims(groups=["staff"], email="eve@evilconsultancy.example"),  # a look-alike domain
        claims(groups=["staff"], email="eve@sub.consultancy.example"),  # no subdomains
        claims(groups=["staff"], verified=False),  # an address the provider did not verify
        claims(groups=["staff"], verified="yes"),
        claims(groups=[], email=None),
    ],
)
def test_no_mapped_group_and_no_verified_allowed_domain_is_refused(sso, db, django_user_model, who):
    result = staff_sign_in(issuer=ISSUER, claims=who)
    assert result.user is None
    assert "no Gatehouse role" in result.refusal
    assert not django_user_model.objects.exists()


def test_a_local_account_with_the_same_address_is_never_taken_over(sso, alice):
    alice.email = "sam@consultancy.example"
    alice.username = "sam@consultancy.example"
    alice.save()
    user = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-viewers"])).user
    assert user.pk != alice.pk
    assert user.username == "sam@consultancy.example-2"
    alice.refresh_from_db()
    assert role_of(alice) == "admin" and alice.has_usable_password()


def test_the_same_subject_at_another_issuer_is_another_person(sso, db):
    one = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-admins"])).user
    other = staff_sign_in(issuer="https://other.example", claims=claims(groups=["gatehouse-viewers"])).user
    assert one.pk != other.pk


def test_a_switched_off_account_is_refused(sso, db):
    user = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-admins"])).user
    user.is_active = False
    user.save()
    result = staff_sign_in(issuer=ISSUER, claims=claims(groups=["gatehouse-admins"]))
    assert result.user is None and "switched off" in result.refusal


@pytest.mark.parametrize(
    "payload, ok",
    [
        ({"iss": ISSUER, "aud": "console", "exp": 1}, True),
        ({"iss": ISSUER + "/", "aud": ["console"], "exp": 1}, True),
        ({"iss": ISSUER, "aud": ["console", "other"], "azp": "console", "exp": 1}, True),
        ({"iss": ISSUER, "aud": ["console", "other"], "exp": 1}, False),
        ({"iss": "https://evil.example", "aud": "console", "exp": 1}, False),
        ({"iss": ISSUER, "aud": "other", "exp": 1}, False),
        ({"iss": ISSUER, "aud": "console"}, False),
    ],
)
def test_the_id_token_must_be_from_the_issuer_for_this_client(sso, payload, ok):
    from django.core.exceptions import SuspiciousOperation

    if ok:
        _id_token_checks(payload)
    else:
        with pytest.raises(SuspiciousOperation):
            _id_token_checks(payload)


def test_the_sign_in_page_offers_the_company_sign_in_when_configured(client, sso, db):
    page = client.get(reverse("login") + "?next=/activity/").content.decode()
    assert "Sign in with Consultancy SSO" in page
    assert 'href="/oidc/authenticate/?next=/activity/"' in page


def test_without_configuration_there_is_no_button_and_no_sso(client, db):
    assert b"Sign in with" not in client.get(reverse("login")).content
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback") + "?code=x&state=y").status_code == 404


def test_starting_sign_in_sends_the_browser_to_the_provider_with_state_nonce_and_pkce(client, sso, db):
    response = client.get(reverse("oidc_authentication_init") + "?next=/activity/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == ISSUER + "/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "console" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/oidc/callback/"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert "s3cret-console" not in response["Location"]
    assert client.session["oidc_login_next"] == "/activity/"


def test_an_offsite_next_is_dropped(client, sso, db):
    client.get(reverse("oidc_authentication_init") + "?next=https://evil.example/")
    assert client.session["oidc_login_next"] is None


@pytest.mark.parametrize(
    "query",
    [
        "?code=abc&state=forged",  # no sign-in was started
        "?error=access_denied&state=whatever",
        "?code=abc",
        "",
    ],
)
def test_a_bad_callback_is_a_message_on_the_sign_in_page(client, sso, db, query):
    response = client.get(reverse("oidc_authentication_callback") + query, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Signing in with Consultancy SSO did not work" in response.content.decode()
    assert client.get(reverse("sites:dashboard")).status_code == 302


def test_a_forged_state_after_a_real_start_is_refused_too(client, sso, db):
    client.get(reverse("oidc_authentication_init"))
    response = client.get(reverse("oidc_authentication_callback") + "?code=abc&state=forged", follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert b"did not work" in response.content


def test_a_provider_that_does_not_answer_is_a_message(client, sso, db):
    # The token endpoint refuses connections: no 5xx, a message.
    sso.GATEHOUSE_STAFF_OIDC_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"
    client.get(reverse("oidc_authentication_init"))
    state = next(iter(client.session["oidc_states"]))
    response = client.get(reverse("oidc_authentication_callback") + f"?code=abc&state={state}", follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert b"did not work" in response.content


def test_claims_of_the_wrong_shape_make_a_plain_account_not_an_error(sso, db):
    odd = {"sub": "s-9", "email": ["a@b"], "preferred_username": 7, "given_name": None, "groups": ["gatehouse-viewers"]}
    user = staff_sign_in(issuer=ISSUER, claims=odd).user
    assert user.username == "sso-s-9" and user.email == ""
    assert role_of(user) == "viewer"
