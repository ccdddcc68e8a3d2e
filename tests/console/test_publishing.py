"""Saves publish a new revision after commit, and only when the config changed."""

import logging
import time

import pytest

from sites.context import change_context
from sites.models import Activity, ConfigRevision
from sites.services.keys import session_key_rotate, session_keys_revoke
from sites.rendering import site_config_render
from sites.services.publishing import config_publish
from tests.console.conftest import CLIENT_SECRET

UPLOAD = "sites.tasks.revision_upload_task"


def save(site, capture, **changes):
    for name, value in changes.items():
        setattr(site, name, value)
    with capture(execute=True):
        site.save()


def test_creating_a_site_makes_revision_one_and_enqueues_its_upload(provider, sent_tasks, django_capture_on_commit_callbacks):
    from sites.services.sites import site_create

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        site = site_create(client="Acme", name="Demo", slug="acme", hosts=["a.acme.example"], provider=provider, allow_any_user=True)
        assert not site.revisions.exists()  # nothing before commit
    assert callbacks
    revision = site.revisions.get()
    assert revision.number == 1
    assert revision.upload_status == "pending"
    assert sent_tasks.of(UPLOAD) == [(revision.pk,)]


def test_a_save_that_changes_nothing_makes_no_revision(site, sent_tasks, django_capture_on_commit_callbacks):
    save(site, django_capture_on_commit_callbacks, name="Renamed demo", status="live")
    assert site.revisions.count() == 1
    assert sent_tasks == []


def test_a_config_change_makes_the_next_revision(site, sent_tasks, django_capture_on_commit_callbacks):
    save(site, django_capture_on_commit_callbacks, disabled=True)
    assert list(site.revisions.values_list("number", flat=True)) == [2, 1]
    latest = site.revisions.first()
    assert latest.document["site"]["disabled"] is True
    assert sent_tasks.of(UPLOAD) == [(latest.pk,)]


def test_who_and_why_come_from_the_change_context(site, alice, django_capture_on_commit_callbacks):
    with change_context(actor=alice, reason="extend access for the client review"):
        save(site, django_capture_on_commit_callbacks, spa_mode=False)
    latest = site.revisions.first()
    assert latest.created_by == alice
    assert latest.reason == "extend access for the client review"
    assert Activity.objects.filter(site=site, verb="config.revision", actor=alice).exists()


def test_a_save_from_anywhere_else_is_recorded_as_system(site, django_capture_on_commit_callbacks):
    save(site, django_capture_on_commit_callbacks, public_paths=["/favicon.ico"])
    latest = site.revisions.first()
    assert latest.created_by is None
    assert latest.actor_name == "system"
    assert latest.reason == "site settings changed"


def test_the_context_is_captured_at_save_time_not_at_commit(site, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with change_context(actor=alice, reason="by alice"):
            site.allow_any_user = True
            site.save()
        # the context has ended; the callbacks run after this block
    assert site.revisions.first().created_by == alice


def test_a_provider_change_republishes_every_site_using_it(site, provider, django_capture_on_commit_callbacks):
    provider.jwks = {"keys": [{"kty": "EC", "kid": "k2", "crv": "P-256", "x": "x", "y": "y"}]}
    with django_capture_on_commit_callbacks(execute=True):
        provider.save()
    latest = site.revisions.first()
    assert latest.number == 2
    assert latest.document["provider"]["jwks"]["keys"][0]["kid"] == "k2"
    assert latest.reason == "provider Acme Auth0 changed"


def test_rotating_keeps_the_old_key_and_revoking_drops_it(site, django_capture_on_commit_callbacks):
    old_kid = site.current_session_key().kid
    with django_capture_on_commit_callbacks(execute=True):
        new = session_key_rotate(site=site)
    session = site.revisions.first().document["session"]
    assert session["current_kid"] == new.kid
    assert set(session["keys"]) == {old_kid, new.kid}

    with django_capture_on_commit_callbacks(execute=True):
        newest = session_keys_revoke(site=site)
    session = site.revisions.first().document["session"]
    assert session["current_kid"] == newest.kid
    assert set(session["keys"]) == {newest.kid}


def test_rotation_retires_keys_that_can_no_longer_have_live_sessions(site, django_capture_on_commit_callbacks):
    for _ in range(6):
        session_key_rotate(site=site)
    assert site.session_keys.filter(retired_at=None).count() == 4


def test_an_invalid_config_is_recorded_not_raised_after_commit(site, django_capture_on_commit_callbacks):
    site.session_lifetime = 5
    with django_capture_on_commit_callbacks(execute=True):
        site.save()
    assert site.revisions.count() == 1
    activity = Activity.objects.get(site=site, verb="config.invalid")
    assert "session.lifetime_seconds" in activity.detail


def test_config_publish_raises_for_an_invalid_config_when_called_directly(site):
    from edge_runtime.config import ConfigError

    site.__class__.objects.filter(pk=site.pk).update(session_lifetime=5)
    with pytest.raises(ConfigError):
        config_publish(site_id=site.pk)


def test_a_site_being_deleted_gets_no_new_revision(site):
    site.__class__.objects.filter(pk=site.pk).update(status="deleting", disabled=True)
    assert config_publish(site_id=site.pk) is None
    assert site.revisions.count() == 1


def test_no_secret_is_stored_in_revisions_or_logged(site, provider, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        session_keys_revoke(site=site)
        provider.client_secret = "second-client-secret-b81c"
        provider.save()
    secrets = [CLIENT_SECRET, "second-client-secret-b81c"] + [k.secret for k in site.session_keys.all()]
    stored = " ".join(ConfigRevision.objects.values_list("content", flat=True))
    stored += " ".join(Activity.objects.values_list("detail", flat=True))
    assert site.revisions.count() >= 2
    for secret in secrets:
        assert secret not in stored
        assert secret not in caplog.text


def test_signing_everyone_out_publishes_the_revocation_time(site, django_capture_on_commit_callbacks):
    from edge_runtime.config import parse, parse_timestamp

    assert "revoked_at" not in site.revisions.first().document["session"]
    before = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        session_keys_revoke(site=site)
    session = site.revisions.first().document["session"]
    revoked = parse_timestamp(session["revoked_at"])
    assert int(before) <= revoked <= time.time()
    site.refresh_from_db()
    assert site.sessions_revoked_at is not None
    # A later rotation keeps it: the edge decides how long it still matters.
    with django_capture_on_commit_callbacks(execute=True):
        session_key_rotate(site=site)
    assert site.revisions.first().document["session"]["revoked_at"] == session["revoked_at"]
    assert parse(site_config_render(site)).revoked_at == revoked


def test_rotating_secret_key_republishes_no_site_under_a_dedicated_fingerprint_key(site, settings, sent_tasks):
    settings.GATEHOUSE_FINGERPRINT_KEY = "fingerprint-key-kept-across-rotations"
    config_publish(site_id=site.pk, reason="under the fingerprint key")
    sent_tasks.clear()
    settings.SECRET_KEY = "a-freshly-rotated-secret-key"
    assert config_publish(site_id=site.pk, reason="after rotating SECRET_KEY") is None
    assert sent_tasks == []
