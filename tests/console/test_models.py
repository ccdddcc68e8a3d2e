import pytest
from django.core.exceptions import ValidationError

from sites import presets
from sites.models import ConfigRevision, ProtectedSite, RevisionImmutable


def test_auth0_preset_fills_issuer_and_the_logout_url_discovery_omits():
    values = presets.preset_values("auth0", domain="https://Acme.eu.auth0.com/")
    assert values.issuer == "https://acme.eu.auth0.com/"
    assert values.end_session_endpoint == "https://acme.eu.auth0.com/oidc/logout"


def test_cognito_preset_takes_region_from_the_pool_and_logout_from_the_hosted_ui():
    values = presets.preset_values("cognito", user_pool_id="eu-west-1_AbC123", domain="acme.auth.eu-west-1.amazoncognito.com")
    assert values.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert values.end_session_endpoint == "https://acme.auth.eu-west-1.amazoncognito.com/logout"


def test_cognito_preset_refuses_a_region_that_disagrees_with_the_pool():
    with pytest.raises(presets.PresetError) as exc:
        presets.preset_values("cognito", user_pool_id="eu-west-1_AbC123", region="us-east-1", domain="a.example.com")
    assert exc.value.field == "region"


def test_entra_preset_needs_a_tenant_guid_and_carries_it():
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    values = presets.preset_values("entra", tenant_id=tenant.upper())
    assert values.issuer == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert values.tenant_id == tenant
    with pytest.raises(presets.PresetError):
        presets.preset_values("entra", tenant_id="common")


def test_google_and_okta_presets():
    assert presets.preset_values("google").issuer == "https://accounts.google.com"
    assert presets.preset_values("okta", domain="acme.okta.com").issuer == "https://acme.okta.com/oauth2/default"


def test_tenant_id_only_reaches_the_config_for_entra(provider):
    provider.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert provider.config_tenant_id is None
    provider.preset = "entra"
    assert provider.config_tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_site_hosts_must_be_host_names(provider):
    s = ProtectedSite(client="Acme", name="x", slug="x", hosts=["Demo.Acme.example:443"], provider=provider)
    with pytest.raises(ValidationError) as exc:
        s.full_clean()
    assert "hosts" in exc.value.message_dict


def test_a_host_name_belongs_to_one_site_only(site, provider):
    other = ProtectedSite(client="Beta", name="y", slug="beta", hosts=["demo.acme.example"], provider=provider)
    with pytest.raises(ValidationError) as exc:
        other.full_clean()
    assert "Already used" in exc.value.message_dict["hosts"][0]


def test_access_window_must_be_in_order(site):
    from datetime import timedelta

    from django.utils import timezone

    site.not_before = timezone.now()
    site.not_after = site.not_before - timedelta(days=1)
    with pytest.raises(ValidationError):
        site.full_clean()


def test_callback_urls_in_development_use_the_gateway_port(site, settings):
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "http"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = 8080
    assert site.callback_url() == "http://demo.acme.example:8080/_gatehouse/callback"
    assert site.signed_out_url() == "http://demo.acme.example:8080/_gatehouse/signed-out"


def test_callback_urls_in_production_are_https_on_each_host(site, settings):
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "https"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = None
    site.distribution_domain = "d111.cloudfront.net"
    assert site.callback_url() == "https://demo.acme.example/_gatehouse/callback"
    assert site.sign_out_url("d111.cloudfront.net") == "https://d111.cloudfront.net/_gatehouse/sign-out"
    assert site.config_hosts == ["demo.acme.example", "d111.cloudfront.net"]


def test_a_revision_refuses_to_change_its_content(site):
    revision = site.revisions.get()
    revision.reason = "rewritten history"
    with pytest.raises(RevisionImmutable):
        revision.save()
    with pytest.raises(RevisionImmutable):
        revision.save(update_fields=["content"])
    revision.upload_status = ConfigRevision.UploadStatus.FAILED
    revision.save(update_fields=["upload_status"])
    assert ConfigRevision.objects.get(pk=revision.pk).reason == "site created"
