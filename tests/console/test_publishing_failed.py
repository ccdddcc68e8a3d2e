"""A revision whose upload failed for good is tried again: by the sweep with backoff, by the command, by saving again."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sites import aws
from sites.models import ConfigRevision
from sites.services.publishing import config_publish, revision_upload, revisions_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(site, config_bucket):
    revision = site.revisions.get()
    config_bucket.fail_with = [aws.AwsError("PutObject: AccessDenied: denied", code="AccessDenied")]
    assert revision_upload(revision_id=revision.pk).outcome == "failed"
    revision.refresh_from_db()
    assert revision.upload_status == "failed"
    return revision


def last_try(revision, seconds_ago):
    ConfigRevision.objects.filter(pk=revision.pk).update(upload_started_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_a_failed_upload_is_retried_by_the_sweep_once_its_backoff_is_over(failed, sent_tasks, config_bucket, settings):
    sent_tasks.clear()
    assert revisions_sweep() == []  # just failed: not yet
    last_try(failed, settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS + 1)
    assert revisions_sweep() == [failed.pk]
    assert sent_tasks.of("sites.tasks.revision_upload_task") == [(failed.pk,)]
    assert revision_upload(revision_id=failed.pk).outcome == "uploaded"


def test_the_backoff_doubles_with_each_attempt(failed, sent_tasks, settings):
    ConfigRevision.objects.filter(pk=failed.pk).update(attempts=3)
    last_try(failed, settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS * 3)
    assert revisions_sweep() == []
    last_try(failed, settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS * 4 + 1)
    assert revisions_sweep() == [failed.pk]


def test_the_sweep_gives_up_after_the_last_attempt_but_the_command_still_retries(failed, sent_tasks, settings):
    ConfigRevision.objects.filter(pk=failed.pk).update(attempts=settings.GATEHOUSE_UPLOAD_RETRY_MAX_ATTEMPTS)
    last_try(failed, 10 * 24 * 3600)
    assert revisions_sweep() == []
    sent_tasks.clear()
    call_command("retry_failed_revisions")
    assert sent_tasks.of("sites.tasks.revision_upload_task") == [(failed.pk,)]


def test_saving_the_same_content_after_a_failure_publishes_again(failed, site, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        again = config_publish(site_id=site.pk, reason="saved again")
    assert again is not None and again.number == failed.number + 1
    assert again.sha256 == failed.sha256
    assert sent_tasks.of("sites.tasks.revision_upload_task") == [(again.pk,)]


def test_the_same_content_after_a_good_upload_is_no_change(site, config_bucket):
    assert revision_upload(revision_id=site.revisions.get().pk).outcome == "uploaded"
    assert config_publish(site_id=site.pk) is None


def test_a_database_error_after_commit_never_turns_a_save_into_a_500(site, client, alice, monkeypatch, sent_tasks, django_capture_on_commit_callbacks):
    from django.db import OperationalError
    from django.urls import reverse

    from sites.services import publishing

    def broken(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(publishing, "config_publish", broken)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sites:disable", args=[site.slug]))
    assert response.status_code in (200, 302)
    assert sent_tasks.of("sites.tasks.config_publish_task")


def test_staff_see_a_failed_upload_on_the_dashboard(failed, client, alice):
    from django.urls import reverse

    client.force_login(alice)
    page = client.get(reverse("sites:dashboard")).content.decode()
    assert "Config uploads that failed" in page
    assert f"revision {failed.number}, 1 attempt" in page and "AccessDenied" in page
