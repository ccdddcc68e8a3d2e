"""Google's "anyone who signs in" is every Google account in the world: the
forms ask for a Workspace domain or an explicit confirmation, and the site
page warns while it is on."""

import pytest
from django.urls import reverse

from sites.forms import OnboardForm
from sites.models import IdentityProvider
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401
from tests.console.test_pages_edit import _as_posted

CONFIRM = "Yes: let in every Google account in the world"


@pytest.fixture
def google_site(live_site):
    IdentityProvider.objects.filter(pk=live_site.provider_id).update(preset="google", issuer="https://accounts.google.com")
    live_site.refresh_from_db()
    return live_site


def _onboard_data(**changes):
    data = {
        "client": "Acme Ltd", "name": "Q3", "provider_choice": "new", "provider_name": "Acme Google",
        "provider_preset": "google", "provider_client_id": "1234.apps.googleusercontent.com",
        "provider_client_secret": "GOCSPX-typed", "provider_token_endpoint_auth_method": "client_secret_basic",
        "provider_scopes": "openid email profile", "allow_any_user": "on", "session_hours": "8",
    }
    data.update(changes)
    return data


def test_onboarding_google_with_anyone_is_refused_beside_the_field(staff_client, db):
    # Fails on main: the form accepted it, letting every Google account in.
    page = staff_client.post("/onboard/", _onboard_data()).content.decode()
    row = page[page.index('id="row-allow_any_user"'):]
    row = row[: row.index("</div>")]
    assert "every Google account in the world" in row and 'class="error"' in row
    assert CONFIRM in page  # the confirmation appears once it is needed


def test_onboarding_google_with_the_confirmation_ticked_passes_that_rule(db):
    form = OnboardForm(_onboard_data(allow_any_google_account="on"))
    form.is_valid()
    assert "allow_any_user" not in form.errors


def test_onboarding_google_with_a_workspace_domain_needs_no_confirmation(db):
    form = OnboardForm(_onboard_data(allow_any_user="", email_domains="client.example"))
    form.is_valid()
    assert "allow_any_user" not in form.errors


def test_other_providers_never_ask_for_it(staff_client, db):
    page = staff_client.post("/onboard/", _onboard_data(provider_preset="oidc", provider_issuer="https://idp.example")).content.decode()
    assert "every Google account in the world. List" not in page
    # Shown by the page's script only while the Google preset is chosen.
    assert 'data-presets="google" id="row-allow_any_google_account"' in page


def test_the_edit_form_of_another_provider_has_no_google_confirmation(staff_client, live_site):
    page = staff_client.get(reverse("sites:edit", args=[live_site.slug])).content.decode()
    assert CONFIRM not in page


def test_an_existing_google_provider_chosen_at_onboarding_asks_too(db, google_site):
    form = OnboardForm(_onboard_data(provider_choice=str(google_site.provider_id)))
    form.is_valid()
    assert "every Google account in the world" in str(form.errors["allow_any_user"])


def test_editing_a_google_site_to_anyone_needs_the_confirmation(staff_client, google_site, django_capture_on_commit_callbacks):
    url = reverse("sites:edit", args=[google_site.slug])
    response = staff_client.post(url, _as_posted(google_site, allow_any_user="on"))
    assert response.status_code == 400
    assert "every Google account in the world" in response.content.decode()
    google_site.refresh_from_db()
    assert not google_site.allow_any_user
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, _as_posted(google_site, allow_any_user="on", allow_any_google_account="on"))
    assert response.status_code == 302
    google_site.refresh_from_db()
    assert google_site.allow_any_user


def test_the_site_page_warns_while_every_google_account_gets_in(staff_client, google_site):
    page = staff_client.get(reverse("sites:site", args=[google_site.slug])).content.decode()
    assert 'id="google-open-warning"' not in page
    type(google_site).objects.filter(pk=google_site.pk).update(allow_any_user=True)
    page = staff_client.get(reverse("sites:site", args=[google_site.slug])).content.decode()
    assert 'id="google-open-warning"' in page
    assert "Anyone with a Google account, anywhere in the world, can open this site" in page


def test_the_site_page_asks_for_a_newer_release_when_the_proof_needs_one(staff_client, google_site):
    from sites.models import EdgeRelease

    page = staff_client.get(reverse("sites:site", args=[google_site.slug])).content.decode()
    assert 'id="email-proof-release-warning"' not in page
    old = EdgeRelease.objects.create(version="0.0.1", zip_sha256="2" * 64, schema_version=1, status="published")
    type(google_site).objects.filter(pk=google_site.pk).update(edge_release=old)
    page = staff_client.get(reverse("sites:site", args=[google_site.slug])).content.decode()
    assert 'id="email-proof-release-warning"' in page
