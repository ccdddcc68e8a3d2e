"""Uploading revisions: ordering, retries, removed hosts, secrets."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from sites import aws
from sites.models import ConfigRevision
from sites.rendering import sha256_hex
from sites.services.publishing import UploadBusy, config_publish, revision_upload, revisions_sweep
from sites.tasks import revision_upload_task
from tests.console.conftest import CLIENT_SECRET

UPLOAD = "sites.tasks.revision_upload_task"


def publish(site, **changes):
    site.__class__.objects.filter(pk=site.pk).update(**changes)
    return config_publish(site_id=site.pk, reason="test")


def test_it_uploads_the_config_with_secrets_to_every_host(site, config_bucket):
    site.__class__.objects.filter(pk=site.pk).update(distribution_domain="d1.cloudfront.net")
    revision = config_publish(site_id=site.pk)

    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"

    revision.refresh_from_db()
    assert revision.upload_status == "uploaded"
    assert revision.s3_version_ids == {"demo.acme.example": "v1", "d1.cloudfront.net": "v1"}
    body = config_bucket.latest("d1.cloudfront.net")
    assert revision.uploaded_sha256 == sha256_hex(body)
    doc = json.loads(body)
    assert doc["provider"]["client_secret"] == CLIENT_SECRET
    assert "$secret" not in body.decode()


def test_running_it_twice_uploads_once(site, config_bucket):
    revision = site.revisions.get()
    revision_upload(revision_id=revision.pk)
    assert revision_upload(revision_id=revision.pk).outcome == "skipped"
    assert config_bucket.calls == [("put", "demo.acme.example")]


def test_a_transient_failure_leaves_it_pending_then_it_lands(site, config_bucket):
    revision = site.revisions.get()
    config_bucket.fail_with = [aws.AwsTransientError("SlowDown")]

    with pytest.raises(aws.AwsTransientError):
        revision_upload(revision_id=revision.pk)
    revision.refresh_from_db()
    assert revision.upload_status == "pending"
    assert "SlowDown" in revision.last_error

    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"
    revision.refresh_from_db()
    assert (revision.upload_status, revision.attempts, revision.last_error) == ("uploaded", 2, "")


def test_a_permanent_failure_marks_it_failed(site, config_bucket):
    revision = site.revisions.get()
    config_bucket.fail_with = [aws.AwsError("AccessDenied")]
    assert revision_upload(revision_id=revision.pk).outcome == "failed"
    revision.refresh_from_db()
    assert (revision.upload_status, revision.last_error) == ("failed", "AccessDenied")


def test_an_older_revision_never_overwrites_a_newer_one(site, config_bucket, sent_tasks):
    first = site.revisions.get()
    second = publish(site, disabled=True)
    assert revision_upload(revision_id=second.pk).outcome == "uploaded"

    assert revision_upload(revision_id=first.pk).outcome == "superseded"

    first.refresh_from_db()
    assert first.upload_status == "superseded"
    assert len(config_bucket.objects["demo.acme.example"]) == 1
    assert json.loads(config_bucket.latest("demo.acme.example"))["site"]["disabled"] is True


def test_an_older_revision_delivered_late_hands_over_to_the_newest(site, config_bucket, sent_tasks, django_capture_on_commit_callbacks):
    first = site.revisions.get()
    with django_capture_on_commit_callbacks(execute=True):
        second = publish(site, disabled=True)
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert revision_upload(revision_id=first.pk).outcome == "superseded"
    assert config_bucket.calls == []
    assert sent_tasks.of(UPLOAD) == [(second.pk,)]


def test_a_newer_revision_waits_while_an_older_one_is_uploading(site, config_bucket):
    first = site.revisions.get()
    second = publish(site, disabled=True)
    ConfigRevision.objects.filter(pk=first.pk).update(upload_status="uploading", upload_started_at=timezone.now())

    with pytest.raises(UploadBusy):
        revision_upload(revision_id=second.pk)
    assert config_bucket.calls == []


def test_an_upload_claim_from_a_dead_worker_expires(site, config_bucket, settings):
    revision = site.revisions.get()
    stale = timezone.now() - timedelta(seconds=settings.GATEHOUSE_UPLOAD_LEASE_SECONDS + 1)
    ConfigRevision.objects.filter(pk=revision.pk).update(upload_status="uploading", upload_started_at=stale)
    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"


def test_a_fresh_claim_by_another_worker_is_left_alone(site, config_bucket):
    revision = site.revisions.get()
    ConfigRevision.objects.filter(pk=revision.pk).update(upload_status="uploading", upload_started_at=timezone.now())
    assert revision_upload(revision_id=revision.pk).outcome == "skipped"
    assert config_bucket.calls == []


def test_hosts_removed_from_a_site_lose_their_config_object(site, config_bucket):
    publish(site, hosts=["demo.acme.example", "old.acme.example"])
    revision_upload(revision_id=site.revisions.first().pk)
    config_bucket.calls.clear()

    revision = publish(site, hosts=["demo.acme.example"])
    revision_upload(revision_id=revision.pk)
    assert config_bucket.calls == [("put", "demo.acme.example"), ("delete", "old.acme.example")]


def test_a_host_that_moved_to_another_site_keeps_its_object(site, provider, config_bucket, django_capture_on_commit_callbacks):
    from sites.services.sites import site_create

    publish(site, hosts=["demo.acme.example", "shared.acme.example"])
    revision_upload(revision_id=site.revisions.first().pk)
    revision = publish(site, hosts=["demo.acme.example"])
    site_create(client="Acme", name="Other", slug="other", hosts=["shared.acme.example"], provider=provider, allow_any_user=True)
    config_bucket.calls.clear()

    revision_upload(revision_id=revision.pk)
    assert ("delete", "shared.acme.example") not in config_bucket.calls


def test_a_secret_changed_since_rendering_is_never_uploaded_stale(site, provider, config_bucket, sent_tasks):
    revision = site.revisions.get()
    provider.client_secret = "rotated-client-secret-2"
    provider.save()  # inside the test transaction: its own publish has not run yet

    assert revision_upload(revision_id=revision.pk).outcome == "failed"
    assert config_bucket.calls == []
    newer = site.revisions.first()
    assert newer.number == 2
    assert newer.reason == "secret changed before upload"


def test_the_sweep_re_enqueues_only_the_newest_stalled_revision(site, sent_tasks, settings):
    first = site.revisions.get()
    second = publish(site, disabled=True)
    old = timezone.now() - timedelta(seconds=settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS + 5)
    ConfigRevision.objects.filter(site=site).update(created_at=old)

    assert revisions_sweep() == [second.pk]
    assert sent_tasks.of(UPLOAD) == [(second.pk,)]
    assert first.pk not in [args[0] for args in sent_tasks.of(UPLOAD)]


def test_the_sweep_leaves_fresh_revisions_to_their_own_task(site, sent_tasks):
    assert revisions_sweep() == []


def test_the_upload_task_retries_transient_errors_with_backoff():
    assert aws.AwsTransientError in revision_upload_task.autoretry_for
    assert UploadBusy in revision_upload_task.autoretry_for
    assert revision_upload_task.retry_backoff and revision_upload_task.max_retries <= 10
    assert revision_upload_task.acks_late


def test_no_secret_reaches_the_logs_during_upload(site, config_bucket, caplog):
    caplog.set_level(logging.DEBUG)
    config_bucket.fail_with = [aws.AwsTransientError("timeout")]
    revision = site.revisions.get()
    with pytest.raises(aws.AwsTransientError):
        revision_upload(revision_id=revision.pk)
    revision_upload(revision_id=revision.pk)
    for secret in [CLIENT_SECRET] + [k.secret for k in site.session_keys.all()]:
        assert secret not in caplog.text


def test_a_site_saved_before_its_config_bucket_exists_waits_for_provisioning(site, config_bucket):
    config_bucket.fail_with = [aws.AwsError("The specified bucket does not exist", code="NoSuchBucket")]
    revision = site.revisions.get()
    assert revision_upload(revision_id=revision.pk).outcome == "deferred"
    revision.refresh_from_db()
    assert revision.upload_status == ConfigRevision.UploadStatus.PENDING
    assert revision.last_error == "waiting for provisioning"
    # Once provisioning made the bucket, the same revision lands.
    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"
