"""Build zips staged in the S3 staging bucket (issue 9, item 1) and purged when stale, on moto's server.

The web and the worker share nothing but the database, the broker and S3:
with GATEHOUSE_STAGING_BUCKET set, a zip a page accepts goes to that bucket,
never to MEDIA_ROOT, and the build upload reads it back from there.
"""

import os
import time
import zipfile
from datetime import timedelta

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from sites.forms import STAGED_PREFIX, BuildUploadForm, staged_token
from sites.models import Build
from sites.services.provisioning import build_upload_start
from sites.services.staged_uploads import staged_uploads_purge
from sites.staging import LocalStagingStorage, staging_storage
from tests.console.provisioning_support import aws, drive, make_zip, provision  # noqa: F401
from tests.console.pages_support import staff_client  # noqa: F401

BUCKET = "gatehouse-staging-test"
SITE_FILES = {"index.html": "<h1>staged</h1>", "assets/app.3f9a1c2b.js": "console.log(1)"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def staging(aws, settings, media):
    settings.GATEHOUSE_STAGING_BUCKET = BUCKET
    aws.staging_bucket_ensure()
    return aws


def staged_keys(aws_module):
    listing = aws_module.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=STAGED_PREFIX)
    return [item["Key"] for item in listing.get("Contents", [])]


def media_files(media):
    return [str(p) for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def live_site(aws, site, db):
    drive(provision(site))
    site.refresh_from_db()
    return site


# --- staging -------------------------------------------------------------------------------------


def test_a_page_stages_the_zip_in_the_staging_bucket_and_not_on_the_web_disk(staging, media, site, staff_client, monkeypatch):
    from sites.services import provisioning

    started = []
    monkeypatch.setattr(provisioning, "build_upload_start", lambda **kwargs: started.append(kwargs))
    upload = SimpleUploadedFile("site.zip", make_zip(SITE_FILES), content_type="application/zip")
    response = staff_client.post(reverse("sites:build_upload", args=[site.slug]), {"build": upload})
    assert response.status_code == 302, response.content[:500]
    (staged,) = staged_keys(staging)
    assert started[0]["staged_name"] == staged and staged.startswith(STAGED_PREFIX) and staged.endswith("/site.zip")
    assert media_files(media) == []
    head = staging.client("s3").head_object(Bucket=BUCKET, Key=staged)
    assert head["ServerSideEncryption"] == "AES256"


def test_an_upload_arrives_in_a_temporary_file_never_in_memory(staging, site, staff_client, monkeypatch):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from sites.forms import staged_builds
    from sites.services import provisioning

    monkeypatch.setattr(provisioning, "build_upload_start", lambda **kwargs: None)
    seen = []
    real = staged_builds.stage_build
    monkeypatch.setattr(staged_builds, "stage_build", lambda upload: seen.append(type(upload)) or real(upload))
    upload = SimpleUploadedFile("site.zip", make_zip(SITE_FILES), content_type="application/zip")
    staff_client.post(reverse("sites:build_upload", args=[site.slug]), {"build": upload})
    assert seen == [TemporaryUploadedFile]


def test_a_large_zip_is_streamed_to_s3_in_parts(staging, tmp_path):
    """boto3's managed transfer sends a file above 8 MiB as a multipart upload, part by part."""
    from sites.forms.staged_builds import stage_build

    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("index.html", "<h1>big</h1>")
        archive.writestr("blob.bin", os.urandom(9 * 1024 * 1024))
    operations = []
    staging.client("s3").meta.events.register(
        "before-call.s3.*", lambda model, **kwargs: operations.append(model.name)
    )
    with open(path, "rb") as handle:
        name = stage_build(File(handle, name="big.zip"))
    assert "CreateMultipartUpload" in operations and operations.count("UploadPart") >= 2
    assert "PutObject" not in operations
    assert staging_storage().size(name) == path.stat().st_size


def test_a_zip_larger_than_the_build_limit_is_refused_beside_the_field(settings, media):
    settings.GATEHOUSE_BUILD_MAX_BYTES = 1000
    data = make_zip({"index.html": "<h1>big</h1>", "blob.bin": os.urandom(5000)})
    form = BuildUploadForm({}, {"build": SimpleUploadedFile("site.zip", data)})
    assert not form.is_valid()
    assert "a build may be at most 0.0 MB" in form.errors["build"][0] and "The zip is" in form.errors["build"][0]


def test_a_staging_bucket_that_does_not_answer_is_an_error_beside_the_field_not_a_500(
    aws, settings, media, site, staff_client, monkeypatch
):
    from sites.services import provisioning

    settings.GATEHOUSE_STAGING_BUCKET = "gatehouse-staging-never-made"
    started = []
    monkeypatch.setattr(provisioning, "build_upload_start", lambda **kwargs: started.append(kwargs))
    upload = SimpleUploadedFile("site.zip", make_zip(SITE_FILES), content_type="application/zip")
    response = staff_client.post(reverse("sites:build_upload", args=[site.slug]), {"build": upload})
    assert response.status_code == 400
    assert b"could not be stored for upload" in response.content
    assert started == [] and media_files(media) == []


def test_a_failed_submit_offers_the_staged_zip_back_without_asking_the_storage(staging):
    name = staging_storage().save(f"{STAGED_PREFIX}abc/site.zip", SimpleUploadedFile("site.zip", make_zip(SITE_FILES)))
    calls = []
    staging.client("s3").meta.events.register("before-call.s3.*", lambda model, **kwargs: calls.append(model.name))
    form = BuildUploadForm({"staged_build": staged_token(name, 1234)}, {})
    assert form.is_valid(), form.errors
    assert form.staged_name == name and form.staged_display == ("site.zip", 1234)
    assert calls == []


# --- the worker reads it from S3 ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_build_upload_reads_the_staged_zip_from_s3_and_deletes_it_after(staging, media, live_site, alice):
    name = staging_storage().save(f"{STAGED_PREFIX}w1/site.zip", SimpleUploadedFile("site.zip", make_zip(SITE_FILES)))
    deployment = build_upload_start(site=live_site, staged_name=name, actor=alice)
    assert drive(deployment) == ["done"]
    build = Build.objects.get(pk=deployment.build_id)
    assert (build.status, build.file_count, build.staged_name) == ("ready", 2, "")
    s3 = staging.client("s3")
    assert s3.get_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/index.html")["Body"].read() == b"<h1>staged</h1>"
    assert staged_keys(staging) == [] and media_files(media) == []


@pytest.mark.django_db
def test_a_staged_zip_gone_from_s3_fails_the_build_with_a_reason(staging, live_site):
    deployment = build_upload_start(site=live_site, staged_name=f"{STAGED_PREFIX}gone/site.zip")
    drive(deployment)
    deployment.refresh_from_db()
    assert deployment.status == "failed" and "staged archive is gone" in deployment.message


def test_the_worker_reads_the_staged_zip_into_a_temporary_file(staging):
    name = staging_storage().save(f"{STAGED_PREFIX}t/site.zip", SimpleUploadedFile("site.zip", make_zip(SITE_FILES)))
    with staging_storage().open(name) as handle:
        assert hasattr(handle.file, "fileno") and handle.file.fileno() >= 0
        assert zipfile.ZipFile(handle).namelist() == list(SITE_FILES)


# --- the purge ------------------------------------------------------------------------------------


def _stage(name):
    return staging_storage().save(f"{STAGED_PREFIX}{name}/site.zip", SimpleUploadedFile("site.zip", make_zip(SITE_FILES)))


@pytest.mark.django_db
def test_a_stale_staged_zip_is_purged_and_one_a_pending_build_reads_is_kept(staging, live_site):
    stale = _stage("stale")
    pending = _stage("pending")
    Build.objects.create(site=live_site, staged_name=pending, status=Build.Status.STAGED)
    time.sleep(1.1)  # S3's LastModified has one-second steps
    result = staged_uploads_purge(max_age_seconds=0)
    assert result.purged == [stale] and result.kept_pending == 1
    assert staged_keys(staging) == [pending]


@pytest.mark.django_db
def test_a_fresh_staged_zip_is_kept(staging):
    fresh = _stage("fresh")
    result = staged_uploads_purge()
    assert result.purged == [] and result.kept_fresh == 1
    assert staged_keys(staging) == [fresh]


@pytest.mark.django_db
def test_a_failed_builds_old_zip_is_purged_and_the_build_forgets_it(staging, live_site):
    name = _stage("failed")
    build = Build.objects.create(site=live_site, staged_name=name, status=Build.Status.FAILED)
    time.sleep(1.1)
    staged_uploads_purge(max_age_seconds=0)
    build.refresh_from_db()
    assert build.staged_name == "" and staged_keys(staging) == []


@pytest.mark.django_db
def test_the_command_purges_lists_and_can_dry_run(staging, capsys):
    name = _stage("cmd")
    time.sleep(1.1)
    call_command("purge_staged_uploads", "--max-age", "0", "--dry-run")
    assert f"would delete {name}" in capsys.readouterr().out and staged_keys(staging) == [name]
    call_command("purge_staged_uploads", "--max-age", "0")
    out = capsys.readouterr().out
    assert f"deleted {name}" in out and "1 stale staged upload(s) deleted" in out
    assert staged_keys(staging) == []


@pytest.mark.django_db
def test_the_purge_works_on_the_local_disk_in_development(settings, media):
    storage = staging_storage()
    assert isinstance(storage, LocalStagingStorage)
    old = storage.save(f"{STAGED_PREFIX}old/site.zip", SimpleUploadedFile("site.zip", b"zip"))
    new = storage.save(f"{STAGED_PREFIX}new/site.zip", SimpleUploadedFile("site.zip", b"zip"))
    past = time.time() - settings.GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS - 60
    os.utime(storage.path(old), (past, past))
    assert staged_uploads_purge().purged == [old]
    assert not storage.exists(old) and storage.exists(new)


def test_the_purge_runs_hourly_on_beat():
    from console.celery import app

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "sites.tasks.staged_uploads_purge_task")
    assert entry["schedule"] == timedelta(hours=1).total_seconds()
    assert "sites.tasks.staged_uploads_purge_task" in app.tasks
