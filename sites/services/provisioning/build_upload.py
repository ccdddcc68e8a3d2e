"""Build upload: check a staged zip (or a manifest's files), put its files under builds/<id>/, make it the live build.

Two sources, one workflow. A zip is checked and its files put one by one. A
manifest build (sites.services.provisioning.manifest_deploy) names each
file by its SHA-256: content new to the site arrives through the API (staged
in storage) or by a presigned PUT to staging/<build>/<sha256>; the worker
checks each against its hash, keeps it once under blobs/<sha256>, and the
build's tree is S3's own copies of those blobs.
"""

from __future__ import annotations

import hashlib
import zipfile

from django.db import transaction

from ... import archives as build_files
from ... import aws
from ...context import chain
from ...models import Activity, Build, Deployment, ProtectedSite, SiteBlob, blob_key, staging_key
from ...staging import STAGED_BLOBS_PREFIX, staging_storage
from .. import publishing, webhooks
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
        return build_deployment_start(site=site, build=build, actor=actor)


def build_deployment_start(*, site: ProtectedSite, build: Build, actor=None) -> Deployment:
    """Give a recorded build its place in the live order and start its upload (inside a transaction)."""
    with chain(), transaction.atomic():
        # Its place in the live order is taken now, when staff made it live,
        # not when its upload happens to finish.
        build.live_seq = site.live_seq_issue()
        build.prefix = f"builds/{build.pk}"
        Build.objects.filter(pk=build.pk).update(prefix=build.prefix, live_seq=build.live_seq)
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
        webhooks.build_live_emit(site=site, build=Build.objects.get(pk=build.pk), actor=deployment.started_by)
        return f"build {build.pk} is live"

    if build.source == Build.Source.MANIFEST:
        return _run(
            deployment,
            [
                ("Check files", lambda: _manifest_check_step(site, build, deployment)),
                ("Upload files", lambda: _manifest_upload_step(site, build)),
                ("Make live", lambda: _build_live_step(site, build, deployment)),
            ],
            done,
        )
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
    _bucket_ready(site, deployment)
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


def _bucket_ready(site: ProtectedSite, deployment: Deployment) -> None:
    if not site.bucket_name or not aws.bucket_exists(name=site.bucket_name):
        if _past_deadline(deployment):
            raise StepFailed("the site's bucket never appeared")
        raise Wait("waiting for the site's bucket (provisioning)", countdown=15)


def staged_blob_name(build_id: int, sha256: str) -> str:
    """Where a small file sent through the API waits in staging for the worker.

    Under the staging prefix, so the purge finds one a build never finalised
    (services/staged_uploads.py keeps those of a pending build)."""
    return f"{STAGED_BLOBS_PREFIX}{build_id}/{sha256}"


def _manifest_missing(site: ProtectedSite, build: Build) -> dict[str, int]:
    """sha256 -> size of the manifest's content the site does not hold yet."""
    sizes = {item["sha256"]: item["size"] for item in build.manifest}
    held = set(SiteBlob.objects.filter(site=site, sha256__in=list(sizes)).values_list("sha256", flat=True))
    return {sha: size for sha, size in sizes.items() if sha not in held}


def _manifest_check_step(site: ProtectedSite, build: Build, deployment: Deployment) -> str:
    entries = build_files.manifest_entries(build.manifest)  # checked again: the row could have been edited
    _bucket_ready(site, deployment)
    missing = _manifest_missing(site, build)
    storage = staging_storage()
    absent = []
    for sha, size in missing.items():
        staged = staged_blob_name(build.pk, sha)
        if storage.exists(staged):
            if storage.size(staged) != size:
                raise StepFailed(f"the file with SHA-256 {sha[:12]}… is not {size} bytes; deploy again")
            continue
        if aws.object_size(bucket=site.bucket_name, key=staging_key(build.pk, sha)) != size:
            absent.append(sha)
    if absent:
        paths = sorted(item["path"] for item in build.manifest if item["sha256"] in set(absent))
        raise StepFailed(
            f"{len(absent)} file(s) were never uploaded, or not in full: {', '.join(paths[:5])}; deploy again"
        )
    Build.objects.filter(pk=build.pk).update(
        status=Build.Status.UPLOADING, file_count=len(entries), total_bytes=sum(e.size for e in entries)
    )
    return f"{len(entries)} files, {len(missing)} new to the site"


def _manifest_upload_step(site: ProtectedSite, build: Build) -> str:
    bucket = site.bucket_name
    storage = staging_storage()
    stored = 0
    for sha, size in _manifest_missing(site, build).items():
        staged = staged_blob_name(build.pk, sha)
        if storage.exists(staged):
            with storage.open(staged, "rb") as handle:
                data = handle.read()
            if hashlib.sha256(data).hexdigest() != sha:
                raise StepFailed(f"the file sent for SHA-256 {sha[:12]}… has other content; deploy again")
            aws.build_object_put(bucket=bucket, key=blob_key(sha), body=data, content_type="application/octet-stream", cache_control="")
        else:
            key = staging_key(build.pk, sha)
            if aws.object_sha256(bucket=bucket, key=key) != sha:
                raise StepFailed(f"the file uploaded for SHA-256 {sha[:12]}… has other content; deploy again")
            aws.object_copy(bucket=bucket, source_key=key, key=blob_key(sha))
            aws.object_delete(bucket=bucket, key=key)
        SiteBlob.objects.get_or_create(site=site, sha256=sha, defaults={"size": size})
        storage.delete(staged)
        stored += 1
    prefix = build.prefix or f"builds/{build.pk}"
    for entry in build_files.manifest_entries(build.manifest):
        try:
            aws.object_copy(
                bucket=bucket, source_key=blob_key(entry.sha256), key=f"{prefix}/{entry.path}",
                content_type=entry.content_type, cache_control=entry.cache_control,
            )
        except aws.AwsError as exc:
            if exc.code not in ("NoSuchKey", "404"):
                raise
            # The bucket lost a blob the console thought it held: the next deploy sends it again.
            SiteBlob.objects.filter(site=site, sha256=entry.sha256).delete()
            raise StepFailed(f"{entry.path}: its content is gone from the bucket; deploy again to send it") from exc
    return f"{stored} new files stored; {len(build.manifest)} files under s3://{bucket}/{prefix}/"


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
