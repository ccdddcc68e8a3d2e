"""The admin: every model has pages; history is read-only; saves carry the user."""

import re

import pytest
from django.urls import reverse

from sites.models import Activity, ConfigRevision

MODELS = ["identityprovider", "protectedsite", "sessionkey", "configrevision", "build", "deployment", "deploymentstep", "edgerelease", "activity"]


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@gatehouse.example", "pw")


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_an_admin_list(client, boss, site, model):
    client.force_login(boss)
    assert client.get(reverse(f"admin:sites_{model}_changelist")).status_code == 200


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(reverse("admin:sites_protectedsite_changelist"))
    assert response.status_code == 302


def test_revisions_and_activity_are_read_only(client, boss, site):
    client.force_login(boss)
    revision = site.revisions.get()
    page = client.get(reverse("admin:sites_configrevision_change", args=[revision.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(reverse("admin:sites_configrevision_delete", args=[revision.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:sites_activity_add")).status_code == 403
    assert ConfigRevision.objects.filter(pk=revision.pk).exists()


def test_the_provider_page_never_shows_the_client_secret(client, boss, provider):
    from tests.console.conftest import CLIENT_SECRET

    client.force_login(boss)
    page = client.get(reverse("admin:sites_identityprovider_change", args=[provider.pk]))
    assert page.status_code == 200
    assert CLIENT_SECRET.encode() not in page.content
    assert provider.client_secret_encrypted.encode() not in page.content


def test_an_admin_save_is_published_as_that_user(client, boss, site, django_capture_on_commit_callbacks):
    client.force_login(boss)
    url = reverse("admin:sites_protectedsite_change", args=[site.pk])
    data = {
        "client": site.client,
        "name": site.name,
        "slug": site.slug,
        "hosts": '["demo.acme.example"]',
        "acm_certificate_arn": "",
        "provider": site.provider_id,
        "emails": '["ann@client.example"]',
        "email_domains": "[]",
        "groups_claim": "",
        "groups": "[]",
        "session_lifetime": 3600,
        "signin_methods": '["idp"]',
        "assertion_lifetime": 300,
        "public_paths": "[]",
        "spa_mode": "on",
        "signin_methods": '["idp"]',
        "assertion_path_prefixes": "[]",
        "assertion_lifetime": 300,
        "edge_release": "",
        "session_keys-TOTAL_FORMS": "1",
        "session_keys-INITIAL_FORMS": "1",
        "session_keys-MIN_NUM_FORMS": "0",
        "session_keys-MAX_NUM_FORMS": "1000",
        "session_keys-0-id": site.session_keys.get().pk,
        "session_keys-0-site": site.pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, re.findall(r'errorlist[^>]*>(.*?)</ul>', response.content.decode(), flags=re.S)
    latest = site.revisions.first()
    assert latest.number == 2
    assert latest.created_by == boss
    assert latest.document["session"]["lifetime_seconds"] == 3600


def test_the_sign_everyone_out_action_revokes_keys(client, boss, site, django_capture_on_commit_callbacks):
    client.force_login(boss)
    old = site.session_keys.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:sites_protectedsite_changelist"),
            {"action": "sign_everyone_out", "_selected_action": [site.pk]},
        )
    old.refresh_from_db()
    assert old.retired_at is not None
    assert Activity.objects.filter(site=site, verb="session_key.revoke", actor=boss).exists()
    assert site.revisions.first().created_by == boss


def test_the_login_page_renders(client):
    assert client.get(reverse("login")).status_code == 200


def provider_form(issuer, **extra):
    return {
        "name": "Local",
        "preset": "oidc",
        "issuer": issuer,
        "client_id": "console",
        "client_secret": "typed-in-secret-93ab",
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": '["openid", "email"]',
        "authorize_params": "{}",
        "id_token_algs": '["RS256"]',
        "check_now": "on",
        **extra,
    }


def test_adding_a_provider_fetches_its_discovery_and_keys(client, boss):
    from sites.models import IdentityProvider
    from tests.console.test_providers import KEYS, Provider

    client.force_login(boss)
    idp = Provider()
    try:
        idp.discovery()
        response = client.post(reverse("admin:sites_identityprovider_add"), provider_form(idp.origin))
    finally:
        idp.server.shutdown()
    assert response.status_code == 302
    saved = IdentityProvider.objects.get(name="Local")
    assert saved.jwks == KEYS
    assert saved.token_endpoint == f"{idp.origin}/token"
    assert saved.client_secret == "typed-in-secret-93ab"


def test_an_unreachable_provider_is_a_form_error(client, boss):
    client.force_login(boss)
    response = client.post(reverse("admin:sites_identityprovider_add"), provider_form("http://127.0.0.1:9"))
    assert response.status_code == 200
    assert b"unreachable" in response.content
    assert b"typed-in-secret-93ab" not in response.content


def test_a_site_cannot_be_deleted_raw_in_the_admin(client, boss, site):
    # A raw delete leaves the distribution enabled and the config (client
    # secret, session keys) in S3; only teardown may delete a site.
    client.force_login(boss)
    assert client.post(reverse("admin:sites_protectedsite_delete", args=[site.pk]), {"post": "yes"}).status_code == 403
    response = client.post(
        reverse("admin:sites_protectedsite_changelist"),
        {"action": "delete_selected", "_selected_action": [site.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    changelist = client.get(reverse("admin:sites_protectedsite_changelist"))
    assert b'value="delete_selected"' not in changelist.content
    assert b'value="tear_down"' in changelist.content
    from sites.models import ProtectedSite

    assert ProtectedSite.objects.filter(pk=site.pk).exists()
    assert site.session_keys.exists() and site.revisions.exists()


def test_the_tear_down_action_starts_the_teardown_workflow(client, boss, site, sent_tasks, django_capture_on_commit_callbacks):
    from sites.models import Deployment, ProtectedSite

    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sites_protectedsite_changelist"), {"action": "tear_down", "_selected_action": [site.pk]}
        )
    assert response.status_code == 302
    teardown = Deployment.objects.get(site=site, kind="teardown")
    assert teardown.started_by == boss
    assert ProtectedSite.objects.get(pk=site.pk).status == "deleting"
    assert sent_tasks.of("sites.tasks.deployment_run_task") == [(teardown.pk,)]
    assert Activity.objects.filter(site=site, verb="site.teardown", actor=boss).exists()


@pytest.mark.parametrize("model", ["deployment", "deploymentstep", "edgerelease", "configrevision", "build"])
def test_deployments_releases_and_revisions_are_read_only(client, boss, site, model):
    from sites.models import Build, Deployment, DeploymentStep, EdgeRelease

    deployment = Deployment.objects.create(kind="redeploy", site=site)
    rows = {
        "deployment": deployment,
        "deploymentstep": DeploymentStep.objects.create(deployment=deployment, name="Config"),
        "edgerelease": EdgeRelease.objects.create(version="r1", zip_sha256="0" * 64),
        "configrevision": site.revisions.get(),
        "build": Build.objects.create(site=site),
    }
    row = rows[model]
    client.force_login(boss)
    assert client.get(reverse(f"admin:sites_{model}_add")).status_code == 403
    page = client.get(reverse(f"admin:sites_{model}_change", args=[row.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(reverse(f"admin:sites_{model}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_validating_the_provider_form_fetches_nothing_and_the_check_runs_after(db, monkeypatch):
    from sites.admin import IdentityProviderForm
    from sites.services import providers

    fetched = []
    real = providers.provider_discover
    monkeypatch.setattr(providers, "provider_discover", lambda **kwargs: fetched.append(kwargs["issuer"]) or real(**kwargs))
    form = IdentityProviderForm(provider_form("http://127.0.0.1:9"))
    assert not form.errors  # full_clean: validation only
    assert fetched == []
    assert form.check_provider() is False
    assert fetched == ["http://127.0.0.1:9"] and "unreachable" in form.errors["issuer"][0]


def test_a_failed_provider_check_in_the_admin_is_shown_beside_the_issuer_and_saves_nothing(client, boss):
    from sites.models import IdentityProvider

    client.force_login(boss)
    response = client.post(reverse("admin:sites_identityprovider_add"), provider_form("http://127.0.0.1:9"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["issuer"] and "The provider check failed" in errors["issuer"][0]
    assert not IdentityProvider.objects.filter(name="Local").exists()


def test_a_provider_saved_without_the_check_fetches_nothing(client, boss, monkeypatch):
    from sites.models import IdentityProvider
    from sites.services import providers

    monkeypatch.setattr(providers, "provider_discover", lambda **kwargs: pytest.fail("fetched without check_now"))
    client.force_login(boss)
    form = provider_form(
        "https://idp.example/",
        check_now="",
        authorization_endpoint="https://idp.example/authorize",
        token_endpoint="https://idp.example/token",
    )
    response = client.post(reverse("admin:sites_identityprovider_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert IdentityProvider.objects.get(name="Local").issuer == "https://idp.example/"
