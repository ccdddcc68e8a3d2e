"""Build upload: check a staged zip, put its files under builds/<id>/, make it the live build."""

from __future__ import annotations

import zipfile

from django.db import transaction

from ... import archives as build_files
from ... import aws
from ...context import chain
from ...models import Activity, Build, Deployment, ProtectedSite
from ...staging import staging_storage
from .. import publishing
from .steps import Kind, Progress, StepFailed, Wait, _deployment_create, _finish, _past_deadline, _run, _site


def build_upload_start(*, site: ProtectedSite, staged_name: str | None, actor=None) -> Deployment | None:
    """Record a staged zip as a build and start uploading it; None when nothing was staged."""
    if not staged_name:
        return None
    with chain(), transaction.atomic():
        build = Build.objects.create(
            site=site,
            staged_name=staged_name,
            created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        )
        # Its place in the live order is taken now, when staff made it live,
        # not when its upload happens to finish.
        build.live_seq = site.live_seq_issue()
        Build.objects.filter(pk=build.pk).update(prefix=f"builds/{build.pk}", live_seq=build.live_seq)
        Activity.record(verb="build.upload", site=site, actor=actor, detail=f"build {build.pk}")
        return _deployment_create(kind=Kind.BUILD, site=site, build=build, actor=actor)


def build_upload(deployment: Deployment) -> Progress:
    site = _site(deployment)
    build = deployment.build
    if build is None:
        _finish(deployment, Deployment.Status.FAILED, "the build row is gone")
        return Progress("failed")

    def done() -> str:
        # The staged copy is no longer needed once every file is in S3.
        if build.staged_name:
            staging_storage().delete(build.staged_name)
        Build.objects.filter(pk=build.pk).update(staged_name="")
        if not ProtectedSite.objects.filter(pk=site.pk, live_build=build).exists():
            return f"build {build.pk} is uploaded; a build made live after it is served"
        Activity.record(verb="build.live", site=site, actor=deployment.started_by, detail=f"build {build.pk}")
        return f"build {build.pk} is live"

    return _run(
        deployment,
        [
            ("Check archive", lambda: _build_check_step(build)),
            ("Upload files", lambda: _build_upload_step(site, build, deployment)),
            ("Make live", lambda: _build_live_step(site, build, deployment)),
        ],
        done,
    )


def _open_staged(build: Build):
    name = build.staged_name
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise StepFailed("the staged archive name is not a storage path")
    # From the staging bucket in production: streamed into a temporary file
    # on this worker's disk, the web process's disk being out of reach.
    try:
        return staging_storage().open(name, "rb")
    except FileNotFoundError:
        raise StepFailed("the staged archive is gone; upload the build again") from None


def _build_check_step(build: Build) -> str:
    with _open_staged(build) as handle:
        sha = build_files.archive_sha256(handle)
        try:
            with zipfile.ZipFile(handle) as archive:
                entries = build_files.archive_entries(archive)
        except zipfile.BadZipFile as exc:
            raise build_files.BuildRefused(f"not a readable zip archive ({exc})") from exc
    total = sum(e.info.file_size for e in entries)
    Build.objects.filter(pk=build.pk).update(
        archive_sha256=sha, file_count=len(entries), total_bytes=total, status=Build.Status.UPLOADING
    )
    return f"{len(entries)} files, {total} bytes"


def _build_upload_step(site: ProtectedSite, build: Build, deployment: Deployment) -> str:
    if not site.bucket_name or not aws.bucket_exists(name=site.bucket_name):
        if _past_deadline(deployment):
            raise StepFailed("the site's bucket never appeared")
        raise Wait("waiting for the site's bucket (provisioning)", countdown=15)
    prefix = build.prefix or f"builds/{build.pk}"
    count = 0
    with _open_staged(build) as handle, zipfile.ZipFile(handle) as archive:
        entries = build_files.archive_entries(archive)  # checked again: the file could have changed
        for entry, data in build_files.iter_files(archive, entries):
            aws.build_object_put(
                bucket=site.bucket_name,
                key=f"{prefix}/{entry.path}",
                body=data,
                content_type=entry.content_type,
                cache_control=entry.cache_control,
            )
            count += 1
    return f"{count} files under s3://{site.bucket_name}/{prefix}/"


def _build_live_step(site: ProtectedSite, build: Build, deployment: Deployment) -> str:
    Build.objects.filter(pk=build.pk).update(status=Build.Status.READY, message="")
    # Only forward: a build made live after this one (uploaded sooner, or
    # chosen with make-live) keeps its place.
    moved = ProtectedSite.objects.filter(pk=site.pk, live_seq__lt=build.live_seq).update(
        live_build=build, live_seq=build.live_seq
    )
    if not moved and not ProtectedSite.objects.filter(pk=site.pk, live_build=build).exists():
        return f"build {build.pk} is ready; not made live, a build made live after it is served"
    revision = publishing.config_publish(
        site_id=site.pk, actor=deployment.started_by, reason=f"build {build.pk} is live"
    )
    return f"revision {revision.number} names build {build.pk}" if revision else "the config already names this build"
