import json
from datetime import UTC, datetime

import pytest

from edge_runtime.config import ConfigError, parse
from sites.crypto import secret_fingerprint
from sites.models import Build, EdgeRelease
from sites.rendering import (
    SecretMismatch,
    canonical_json,
    config_inject,
    config_redact,
    site_config_render,
    site_secrets,
)
from tests.console.conftest import CLIENT_SECRET


def test_it_renders_a_config_the_edge_can_parse(site):
    doc = site_config_render(site)
    config = parse(doc)
    assert config.site_id == "acme-demo"
    assert config.hosts == ("demo.acme.example",)
    assert config.client_secret == CLIENT_SECRET
    assert config.emails == {"ann@client.example"}
    assert doc["session"]["current_kid"] in doc["session"]["keys"]
    assert doc["paths"]["callback"] == "/_gatehouse/callback"


def test_it_names_the_distribution_the_live_build_and_the_expiry(site):
    build = Build.objects.create(site=site, prefix="builds/1", status="ready")
    site.live_build = build
    site.distribution_id = "EDFDVBD6EXAMPLE"
    site.distribution_domain = "d111111abcdef8.cloudfront.net"
    site.not_after = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    doc = site_config_render(site)
    assert doc["site"]["build"] == {"id": f"b{build.pk}", "prefix": "builds/1"}
    assert doc["site"]["distribution_id"] == "EDFDVBD6EXAMPLE"
    assert doc["site"]["hosts"] == ["demo.acme.example", "d111111abcdef8.cloudfront.net"]
    assert doc["access"]["not_after"] == "2026-12-31T23:59:59Z"


def test_it_validates_for_the_schema_version_of_the_sites_edge_release(site):
    site.edge_release = EdgeRelease.objects.create(version="0.1", zip_sha256="0" * 64, schema_version=99)
    with pytest.raises(ConfigError) as exc:
        site_config_render(site)
    assert "99" in str(exc.value)


def test_it_refuses_a_site_whose_config_the_edge_could_not_read(site):
    site.groups = ["viewers"]  # without a groups_claim
    site.session_lifetime = 10
    with pytest.raises(ConfigError) as exc:
        site_config_render(site)
    assert any("session.lifetime_seconds" in e for e in exc.value.errors)
    assert any("access.groups" in e for e in exc.value.errors)


def test_a_public_client_sends_no_secret(site, provider):
    provider.token_endpoint_auth_method = "none"
    assert site_config_render(site)["provider"]["client_secret"] is None


def test_canonical_json_is_the_same_whatever_the_key_order():
    assert canonical_json({"b": 1, "a": "é"}) == canonical_json({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


def test_redaction_replaces_every_secret_with_a_fingerprint(site):
    doc = site_config_render(site)
    redacted = config_redact(doc)
    text = canonical_json(redacted).decode()
    assert CLIENT_SECRET not in text
    for secret in doc["session"]["keys"].values():
        assert secret not in text
    assert redacted["provider"]["client_secret"] == {"$secret": secret_fingerprint(CLIENT_SECRET)}
    assert redacted["provider"]["client_secret"]["$secret"].startswith("sha256:")
    assert doc["provider"]["client_secret"] == CLIENT_SECRET  # the input is left alone


def test_fingerprints_need_the_server_key(settings):
    first = secret_fingerprint(CLIENT_SECRET)
    settings.SECRET_KEY = "another-server-key"
    assert secret_fingerprint(CLIENT_SECRET) != first
    assert len(first) == len("sha256:") + 16


def test_injection_restores_the_rendered_document(site):
    doc = site_config_render(site)
    assert config_inject(config_redact(doc), site_secrets(site)) == doc


def test_injection_refuses_a_fingerprint_no_current_secret_matches(site, provider):
    redacted = config_redact(site_config_render(site))
    provider.client_secret = "a-new-secret-value"
    provider.save()
    with pytest.raises(SecretMismatch):
        config_inject(redacted, site_secrets(site.__class__.objects.get(pk=site.pk)))


def test_the_redacted_document_is_plain_json(site):
    redacted = config_redact(site_config_render(site))
    assert json.loads(canonical_json(redacted)) == redacted


@pytest.mark.parametrize(
    ("preset", "fields", "proof"),
    [
        ("auth0", {}, "email_verified"),
        ("okta", {}, "email_verified"),
        ("cognito", {}, "cognito"),
        ("google", {"issuer": "https://accounts.google.com"}, "google"),
        ("entra", {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}, "entra"),
        ("oidc", {}, "email_verified"),
    ],
)
def test_each_preset_renders_its_email_proof(site, provider, preset, fields, proof):
    provider.preset = preset
    for name, value in fields.items():
        setattr(provider, name, value)
    provider.save()
    site.refresh_from_db()
    doc = site_config_render(site)
    assert doc["provider"]["email_proof"] == proof
    assert parse(doc).email_proof == proof


def test_a_site_on_a_schema_1_release_gets_no_email_proof(site):
    site.edge_release = EdgeRelease.objects.create(version="0.1", zip_sha256="1" * 64, schema_version=1)
    doc = site_config_render(site)
    assert doc["schema_version"] == 1
    assert "email_proof" not in doc["provider"]
def test_a_provider_whose_discovery_advertises_the_iss_parameter_gets_it_required(site, provider):
    assert "authorization_response_iss_parameter_supported" not in site_config_render(site)["provider"]
    provider.discovery = {"authorization_response_iss_parameter_supported": True}
    site.provider = provider
    doc = site_config_render(site)
    assert doc["provider"]["authorization_response_iss_parameter_supported"] is True
    assert parse(doc).iss_parameter_required is True
    # A site on a release that reads only schema version 1 gets a document without it.
    site.edge_release = EdgeRelease.objects.create(version="0.1", zip_sha256="0" * 64, schema_version=1)
    assert "authorization_response_iss_parameter_supported" not in site_config_render(site)["provider"]


def test_rotating_secret_key_changes_no_fingerprint_under_a_dedicated_fingerprint_key(settings):
    settings.GATEHOUSE_FINGERPRINT_KEY = "fingerprint-key-kept-across-rotations"
    before = secret_fingerprint(CLIENT_SECRET)
    settings.SECRET_KEY = "a-freshly-rotated-secret-key"
    settings.SECRET_KEY_FALLBACKS = []
    assert secret_fingerprint(CLIENT_SECRET) == before


def test_a_pending_upload_still_injects_after_secret_key_is_rotated_with_a_fallback(site, settings):
    # No dedicated key: fingerprints are keyed on SECRET_KEY, and Django's way
    # of rotating it (the old value in SECRET_KEY_FALLBACKS) must not fail an
    # upload rendered before the rotation.
    doc = site_config_render(site)
    redacted = config_redact(doc)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-freshly-rotated-secret-key"
    assert config_redact(doc) != redacted  # new revisions use the new key
    assert config_inject(redacted, site_secrets(site)) == doc


def test_a_pending_upload_still_injects_after_the_fingerprint_key_is_rotated(site, settings):
    settings.GATEHOUSE_FINGERPRINT_KEY = "first-fingerprint-key"
    doc = site_config_render(site)
    redacted = config_redact(doc)
    settings.GATEHOUSE_FINGERPRINT_KEY = "second-fingerprint-key"
    settings.GATEHOUSE_FINGERPRINT_KEY_FALLBACKS = ["first-fingerprint-key"]
    assert config_inject(redacted, site_secrets(site)) == doc
    settings.GATEHOUSE_FINGERPRINT_KEY_FALLBACKS = []
    with pytest.raises(SecretMismatch):
        config_inject(redacted, site_secrets(site))
