"""A site whose viewers sign in with an e-mail code only needs no identity
provider: the model, onboarding, the edit page, the site page and the
published config all go without one, and each missing piece is an error
beside its field."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from edge_runtime import config as edge_config
from sites.models import ProtectedSite
from sites.rendering import config_inject, config_redact, site_config_render, site_secrets
from sites.services.sites import site_create
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401
from tests.console.roles_support import olga  # noqa: F401
from tests.console.test_pages_edit import _as_posted, _url
from tests.console.test_pages_onboard import _data, _zip, discovery, media  # noqa: F401

pytestmark = pytest.mark.django_db


def _code_site(capture, **fields):
    values = {
        "client": "Acme", "name": "Codes", "slug": "acme-codes", "hosts": ["codes.acme.example"],
        "provider": None, "signin_methods": ["email_code"], "emails": ["ann@client.example"],
    }
    values.update(fields)
    with capture(execute=True):
        return site_create(**values)


def test_an_email_code_only_site_is_saved_without_a_provider_and_its_config_passes_the_edge(
    django_capture_on_commit_callbacks, sent_tasks,
):
    site = _code_site(django_capture_on_commit_callbacks)
    site.refresh_from_db()
    assert site.provider is None
    revision = site.revisions.get()
    assert revision.document["provider"] is None and revision.document["signin_methods"] == ["email_code"]
    # What the upload does: the redacted revision, secrets put back, through the edge's validator.
    uploaded = config_inject(revision.document, site_secrets(site))
    edge_config.validate(uploaded, schema_version=3)
    assert edge_config.parse(uploaded).uses_idp is False
    assert config_redact(site_config_render(site)) == revision.document


def test_signing_in_at_the_provider_without_one_is_an_error_on_the_provider(django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as info:
        _code_site(django_capture_on_commit_callbacks, signin_methods=["idp", "email_code"])
    assert "needs a provider" in " ".join(info.value.message_dict["provider"])
    assert not ProtectedSite.objects.exists()


def test_email_codes_without_allowed_addresses_are_an_error_on_the_emails(django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as info:
        _code_site(django_capture_on_commit_callbacks, emails=[], allow_any_user=True)
    assert "allowed emails and domains only" in " ".join(info.value.message_dict["emails"])


@override_settings(GATEHOUSE_SES_SENDER="")
def test_email_codes_without_a_sender_setting_are_an_error_on_the_methods(django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError) as info:
        _code_site(django_capture_on_commit_callbacks)
    assert "GATEHOUSE_SES_SENDER" in " ".join(info.value.message_dict["signin_methods"])


# --- onboarding ------------------------------------------------------------------------------


def _code_only(**changes):
    """The onboarding form with the e-mail code chosen and the provider section left as the page shows it."""
    return _data(
        signin_choice="email_code", provider_name="", provider_domain="", provider_client_id="",
        provider_client_secret="", build=_zip(), **changes,
    )


def test_onboarding_offers_the_three_choices(staff_client):
    page = staff_client.get("/onboard/").content.decode()
    for value in ("idp", "email_code", "both"):
        assert f'name="signin_choice" value="{value}"' in page
    assert "data-provider-section" in page


def test_onboarding_an_email_code_site_asks_nothing_of_a_provider(staff_client, discovery, provisioning_calls, release):  # noqa: F811
    response = staff_client.post("/onboard/", _code_only())
    assert response.status_code == 302, response.content.decode()[:3000]
    site = ProtectedSite.objects.get()
    assert site.provider is None and site.signin_methods == ["email_code"]
    assert [name for name, _ in provisioning_calls] == ["site_provision_start", "build_upload_start"]
    page = staff_client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "With a code sent by e-mail (no identity provider)" in page
    assert 'id="no-provider-note"' in page and "Register at the provider" not in page


def test_onboarding_both_methods_keeps_the_provider(staff_client, discovery, provisioning_calls, release):  # noqa: F811
    response = staff_client.post("/onboard/", _data(signin_choice="both", build=_zip()))
    assert response.status_code == 302, response.content.decode()[:3000]
    site = ProtectedSite.objects.get()
    assert site.signin_methods == ["idp", "email_code"] and site.provider.name == "Acme Auth0"
    page = staff_client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "At Acme Auth0 or with a code sent by e-mail" in page and "Register at the provider" in page


def test_onboarding_an_email_code_site_without_addresses_says_so_beside_the_emails(staff_client, discovery, release):  # noqa: F811
    response = staff_client.post("/onboard/", _code_only(emails="", allow_any_user="on"))
    assert response.status_code == 400
    form = response.context["form"]
    assert "allowed emails and domains only" in str(form.errors["emails"])
    assert not ProtectedSite.objects.exists()


@override_settings(GATEHOUSE_SES_SENDER="")
def test_onboarding_an_email_code_site_without_a_sender_says_so_beside_the_choice(staff_client, discovery, release):  # noqa: F811
    response = staff_client.post("/onboard/", _code_only())
    assert response.status_code == 400
    assert "GATEHOUSE_SES_SENDER" in str(response.context["form"].errors["signin_choice"])


# --- the edit page of a site without a provider ----------------------------------------------


@pytest.fixture
def code_site(django_capture_on_commit_callbacks, release):  # noqa: F811
    site = _code_site(django_capture_on_commit_callbacks, edge_release=release)
    ProtectedSite.objects.filter(pk=site.pk).update(status="live", distribution_domain="d9.cloudfront.net")
    site.refresh_from_db()
    return site


def test_the_edit_page_of_a_site_without_a_provider_works(staff_client, code_site, django_capture_on_commit_callbacks):
    assert staff_client.get(_url(code_site)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_url(code_site), _as_posted(code_site, emails="ann@client.example\nbo@client.example"))
    assert response.status_code == 302, response.content.decode()[:3000]
    code_site.refresh_from_db()
    assert code_site.emails == ["ann@client.example", "bo@client.example"] and code_site.provider is None


def test_adding_the_provider_method_needs_a_provider_chosen_beside_it(staff_client, code_site, provider):
    response = staff_client.post(_url(code_site), _as_posted(code_site, signin_methods=["idp", "email_code"]))
    assert response.status_code == 400
    assert "needs a provider" in str(response.context["form"].errors["provider"])


def test_choosing_a_provider_adds_the_provider_method(staff_client, code_site, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            _url(code_site), _as_posted(code_site, signin_methods=["idp", "email_code"], provider=str(provider.pk))
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    code_site.refresh_from_db()
    assert code_site.provider == provider and code_site.signin_methods == ["idp", "email_code"]
    assert code_site.revisions.order_by("-number").first().document["provider"]["client_id"] == "acme-client"



# --- the API's onboarding takes the same choice ----------------------------------------------


def test_the_api_onboards_an_email_code_site_without_a_provider(api_as, olga, release, sent_tasks, django_capture_on_commit_callbacks):  # noqa: F811
    client = api_as(olga, scope="all")
    body = {"client": "Beta", "name": "Codes", "signin_methods": "email_code", "emails": ["ann@beta.example"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:sites"), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["provider"] is None and response.json()["signin_methods"] == ["email_code"]
    assert ProtectedSite.objects.get(slug="beta-codes").provider is None


def test_the_api_still_needs_a_provider_for_the_provider_method(api_as, olga, release):  # noqa: F811
    client = api_as(olga, scope="all")
    response = client.post(reverse("api:sites"), {"client": "Beta", "name": "Codes", "signin_methods": "both",
                                                   "emails": ["ann@beta.example"]}, format="json")
    assert response.status_code == 400
    assert error_of(response)[0] == "validation_failed" and "provider" in response.json()["error"]["fields"]
