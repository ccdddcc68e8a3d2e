"""Per site: how viewers sign in (provider, e-mail code, both) and the
identity assertion for backend origins, from the edit form to the config."""

import json

import pytest
from django.test import override_settings

from edge_runtime import config as edge_config
from sites.forms import SiteEditForm
from sites.rendering import config_redact, site_config_render, site_secrets
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401
from tests.console.test_pages_edit import _as_posted, _save, _url


def test_a_site_signs_in_at_the_provider_by_default_and_its_config_is_unchanged(site):
    doc = site_config_render(site)
    assert site.signin_methods == ["idp"]
    assert not {"signin_methods", "email_code", "identity_assertion"} & set(doc)
    assert doc["provider"]["issuer"] == "https://acme.eu.auth0.com/"


@override_settings(GATEHOUSE_SES_SENDER="sign-in@consultancy.example", GATEHOUSE_SES_REGION="eu-west-1")
def test_an_email_code_only_site_renders_no_provider_and_the_ses_settings(site):
    site.signin_methods = ["email_code"]
    doc = site_config_render(site)
    assert doc["signin_methods"] == ["email_code"] and doc["provider"] is None
    assert doc["email_code"] == {
        "sender": "sign-in@consultancy.example", "region": "eu-west-1", "code_lifetime_seconds": 600,
        "max_sends_per_transaction": 3, "max_sends_per_address": 5,
    }
    edge_config.validate(doc, schema_version=3)


def test_both_methods_render_the_provider_and_the_email_section(site):
    site.signin_methods = ["idp", "email_code"]
    doc = site_config_render(site)
    assert doc["signin_methods"] == ["idp", "email_code"] and doc["provider"]["client_id"] == "acme-client"


def test_the_model_refuses_an_unknown_method(site):
    from django.core.exceptions import ValidationError

    site.signin_methods = ["sms"]
    with pytest.raises(ValidationError) as info:
        site.full_clean()
    assert "signin_methods" in info.value.message_dict


def test_the_first_assertion_path_makes_a_signing_key_kept_encrypted_and_redacted(site):
    assert site.assertion_key == ""
    site.assertion_path_prefixes = ["/api/"]
    site.save(update_fields=["assertion_path_prefixes"])
    site.refresh_from_db()
    key = site.assertion_key
    assert len(key) == 43 and site.assertion_kid.startswith("ia")
    assert key not in site.assertion_key_encrypted
    doc = site_config_render(site)
    assert doc["identity_assertion"] == {"path_prefixes": ["/api/"], "lifetime_seconds": 300, "kid": site.assertion_kid, "signing_key": key}
    assert key not in json.dumps(config_redact(doc))
    assert key in site_secrets(site)
    # A second save keeps the key.
    site.assertion_lifetime = 120
    site.save()
    site.refresh_from_db()
    assert site.assertion_key == key


def test_the_edit_page_saves_the_methods_and_the_assertion_paths(staff_client, live_site, django_capture_on_commit_callbacks):
    response = _save(
        staff_client, live_site, django_capture_on_commit_callbacks,
        signin_methods=["idp", "email_code"], assertion_path_prefixes="/api/\n/graphql", assertion_lifetime="120",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    live_site.refresh_from_db()
    assert live_site.signin_methods == ["idp", "email_code"]
    assert live_site.assertion_path_prefixes == ["/api/", "/graphql"] and live_site.assertion_lifetime == 120
    revision = live_site.revisions.order_by("-number").first()
    stored = json.loads(revision.content)
    assert stored["identity_assertion"]["signing_key"] == {"$secret": stored["identity_assertion"]["signing_key"]["$secret"]}


def test_the_edit_page_needs_at_least_one_method(staff_client, live_site, django_capture_on_commit_callbacks):
    data = _as_posted(live_site, signin_methods=None)
    response = staff_client.post(_url(live_site), data)
    assert response.status_code == 400 and "id=\"id_signin_methods_error\"" in response.content.decode()


def test_a_bad_assertion_path_is_an_error_beside_its_field(live_site):
    form = SiteEditForm(_as_posted(live_site, assertion_path_prefixes="/_gatehouse/x"), site=live_site)
    assert not form.is_valid() and "assertion_path_prefixes" in form.errors


@override_settings(GATEHOUSE_SES_SENDER="")
def test_email_codes_need_a_sender_setting(live_site):
    form = SiteEditForm(_as_posted(live_site, signin_methods=["email_code"]), site=live_site)
    assert not form.is_valid() and "GATEHOUSE_SES_SENDER" in str(form.errors["signin_methods"])


def test_email_codes_without_listed_addresses_are_an_error_beside_the_emails(live_site):
    form = SiteEditForm(
        _as_posted(live_site, signin_methods=["email_code"], emails="", email_domains="", allow_any_user="on"),
        site=live_site,
    )
    assert not form.is_valid()
    assert "E-mail codes go to the allowed emails and domains only" in str(form.errors["emails"])
    assert "signin_methods" not in form.errors
