"""Deploys that send only what changed: a manifest, the files the site lacks, then the build's usual upload.

1. `manifest_deploy_create`: the client lists every file (path, size,
   SHA-256); a Build is recorded (not yet started) and the answer says which
   contents the site does not hold, and where each goes: small ones through
   the API (`manifest_file_receive`, staged in storage), large ones by a
   presigned PUT to the site bucket's staging/ area, so their bytes never
   pass through the web process.
2. `manifest_deploy_finalise`: every small file has arrived; the build takes
   its place in the live order and runs the same workflow as an uploaded zip
   (build_upload.build_upload), whose steps check each content against its
   hash before it is kept.

Nothing here calls AWS over the network: a presigned address is signed locally.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from ... import archives as build_files
from ... import aws
from ...models import Build, Deployment, ProtectedSite, SiteBlob, staging_key
from ...staging import staging_storage
from .build_upload import build_deployment_start, staged_blob_name


class ManifestRefused(Exception):
    """The request cannot go on; `code` is stable, the message is for a person."""

    def __init__(self, message: str, *, code: str = "manifest_refused"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Upload:
    """One content the client must send, and how."""

    sha256: str
    size: int
    paths: list[str]
    method: str  # "api": PUT its bytes to the API; "s3": PUT them to `url`
    url: str = ""


def _inline(size: int) -> bool:
    return size <= settings.GATEHOUSE_API_INLINE_MAX_BYTES


def manifest_deploy_create(
    *, site: ProtectedSite, files: list[dict], message: str = "", commit: str = "", actor=None
) -> tuple[Build, list[Upload]]:
    """Record the build the manifest describes; the contents the client must send."""
    try:
        entries = build_files.manifest_entries(files)
    except build_files.BuildRefused as exc:
        raise ManifestRefused(f"The manifest cannot be used: {exc}.", code="manifest_invalid") from exc
    if site.status == ProtectedSite.Status.DELETING:
        raise ManifestRefused("The site is being deleted.", code="site_deleting")
    manifest = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in entries]
    sizes: dict[str, int] = {}
    paths: dict[str, list[str]] = {}
    for entry in entries:
        sizes[entry.sha256] = entry.size
        paths.setdefault(entry.sha256, []).append(entry.path)
    held = set(SiteBlob.objects.filter(site=site, sha256__in=list(sizes)).values_list("sha256", flat=True))
    missing = {sha: size for sha, size in sizes.items() if sha not in held}
    build = Build.objects.create(
        site=site,
        source=Build.Source.MANIFEST,
        manifest=manifest,
        deploy_message=message[:500],
        commit=commit[:64],
        file_count=len(entries),
        total_bytes=sum(e.size for e in entries),
        files_sent=len(missing),
        bytes_sent=sum(missing.values()),
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    uploads = []
    for sha, size in sorted(missing.items(), key=lambda item: paths[item[0]][0]):
        # Large files go straight to S3; without a bucket yet (still provisioning), through the API.
        if _inline(size) or not site.bucket_name:
            uploads.append(Upload(sha, size, paths[sha], "api"))
        else:
            url = aws.upload_url_presign(
                bucket=site.bucket_name, key=staging_key(build.pk, sha), expires_in=settings.GATEHOUSE_API_PRESIGN_SECONDS
            )
            uploads.append(Upload(sha, size, paths[sha], "s3", url))
    return build, uploads


def manifest_uploads_pending(build: Build) -> dict[str, int]:
    """sha256 -> size of the contents this build still waits for through the API."""
    sizes = {item["sha256"]: item["size"] for item in build.manifest}
    held = set(SiteBlob.objects.filter(site_id=build.site_id, sha256__in=list(sizes)).values_list("sha256", flat=True))
    storage = staging_storage()
    return {
        sha: size
        for sha, size in sizes.items()
        if sha not in held and (_inline(size) or not build.site.bucket_name)
        and not storage.exists(staged_blob_name(build.pk, sha))
    }


def _open_build(build: Build) -> None:
    if build.source != Build.Source.MANIFEST:
        raise ManifestRefused(f"Build {build.number} was uploaded as a zip; it takes no files.", code="not_a_manifest_build")
    if build.prefix:
        raise ManifestRefused(f"Build {build.number} is already finalised; start a new deploy.", code="already_finalised")


def manifest_file_receive(*, build: Build, sha256: str, data: bytes) -> None:
    """Keep one content sent through the API until the worker stores it."""
    _open_build(build)
    sizes = {item["sha256"]: item["size"] for item in build.manifest}
    if sha256 not in sizes:
        raise ManifestRefused(f"No file in build {build.number}'s manifest has SHA-256 {sha256}.", code="not_in_manifest")
    if len(data) != sizes[sha256]:
        raise ManifestRefused(
            f"The manifest says {sizes[sha256]} bytes for this file; {len(data)} arrived.", code="size_mismatch"
        )
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ManifestRefused("The bytes sent do not have the SHA-256 in the address.", code="hash_mismatch")
    name = staged_blob_name(build.pk, sha256)
    storage = staging_storage()
    if not storage.exists(name):
        storage.save(name, ContentFile(data))


def manifest_deploy_finalise(*, build: Build, actor=None) -> Deployment:
    """Start the build's upload once every small file is here (large ones the worker checks in S3)."""
    with transaction.atomic():
        # Locked: two finalise calls at once start one deployment.
        build = Build.objects.select_for_update().select_related("site").get(pk=build.pk)
        _open_build(build)
        pending = manifest_uploads_pending(build)
        if pending:
            names = sorted(item["path"] for item in build.manifest if item["sha256"] in pending)
            raise ManifestRefused(
                f"{len(pending)} file(s) have not been sent yet: {', '.join(names[:5])}.", code="files_missing"
            )
        return build_deployment_start(site=build.site, build=build, actor=actor)
