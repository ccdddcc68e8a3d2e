"""Staff sign in to the console through the company's OpenID Connect provider (devidp here).

The console (pytest-django's live_server) is configured as the local stack
configures it (scripts/run-dev): devidp's console client, its groups mapped
to roles. Chromium goes console -> devidp's sign-in form -> the console's
callback (mozilla-django-oidc: code, PKCE, nonce, id_token from devidp's
keys, userinfo) -> the dashboard, with the role the groups map to.
"""

import pytest
from playwright.sync_api import expect

from devidp import personas
from sites.models import StaffIdentity
from sites.roles import role_of
from sites.staff_auth import discovery_reset
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def staff_sso(settings, idp):
    settings.GATEHOUSE_STAFF_OIDC_ENABLED = True
    settings.GATEHOUSE_STAFF_OIDC_ISSUER = idp.issuer
    settings.GATEHOUSE_STAFF_OIDC_CLIENT_ID = personas.CONSOLE_CLIENT_ID
    settings.GATEHOUSE_STAFF_OIDC_CLIENT_SECRET = personas.CONSOLE_CLIENT_SECRET
    settings.GATEHOUSE_STAFF_OIDC_NAME = "the local dev provider"
    settings.GATEHOUSE_STAFF_OIDC_ROLE_MAP = personas.STAFF_ROLE_MAP
    settings.GATEHOUSE_STAFF_OIDC_EMAIL_DOMAINS = ["consultancy.example"]
    discovery_reset()
    yield idp
    discovery_reset()


def sign_in_through_devidp(page, live_server, username, path="/"):
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    page.get_by_role("link", name="Sign in with the local dev provider").click()
    # devidp's own sign-in form.
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    assert page.url.startswith("http://localhost:")  # devidp, not the console
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(personas.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize(
    "username, role, title",
    [("sam", "admin", "an Admin"), ("olive", "operator", "an Operator"), ("vince", "viewer", "a Viewer")],
)
def test_staff_sign_in_through_devidp_and_land_on_the_dashboard_with_their_mapped_role(
    live_server, page, staff_sso, username, role, title
):
    sign_in_through_devidp(page, live_server, username)
    expect(page.get_by_role("heading", name="Sites", level=1)).to_be_visible()
    assert page.url == live_server.url + "/"
    expect(page.locator("#role-summary")).to_contain_text(f"You are {title}: you can")
    expect(page.locator("#role-badge")).to_have_text(role.capitalize())
    onboard = page.get_by_role("navigation", name="Main").get_by_role("link", name="Onboard")
    expect(onboard).to_have_count(0 if role == "viewer" else 1)
    screenshot(page, f"staff-sso-{username}")

    identity = StaffIdentity.objects.select_related("user").get(issuer=staff_sso.issuer)
    assert identity.user.email == personas.USERS[username]["email"]
    assert identity.user.is_staff and not identity.user.has_usable_password()
    assert role_of(identity.user) == role
    # The console's client secret never shows in devidp's request log.
    assert personas.CONSOLE_CLIENT_SECRET not in staff_sso.log()


def test_sign_in_returns_to_the_page_asked_for(live_server, page, staff_sso):
    sign_in_through_devidp(page, live_server, "olive", path="/activity/")
    expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()
    assert page.url == live_server.url + "/activity/"


def test_staff_in_the_company_domain_with_no_gatehouse_group_are_told_to_ask_an_admin(live_server, page, staff_sso):
    sign_in_through_devidp(page, live_server, "bob")  # groups: staff
    expect(page.get_by_role("heading", name="No role yet")).to_be_visible()
    expect(page.get_by_text("Ask an admin to give you a role")).to_be_visible()
    screenshot(page, "staff-sso-no-role")


def test_someone_outside_the_company_is_refused_with_a_message(live_server, page, staff_sso, django_user_model):
    sign_in_through_devidp(page, live_server, "ann")  # ann@client.example, no staff group
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    expect(page.get_by_text("has no Gatehouse role")).to_be_visible()
    assert not django_user_model.objects.filter(email="ann@client.example").exists()
    screenshot(page, "staff-sso-refused")
