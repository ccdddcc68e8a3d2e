"""Purging staged build zips that no build will read any more.

A zip is staged as soon as a form accepts it, so a submit that never
succeeds (or a tab closed after a failed one) leaves one behind; a build
whose upload failed for good leaves its zip too. Beat runs this hourly
(`staged_uploads_purge_task`); `manage.py purge_staged_uploads` runs it now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import Build
from ..staging import STAGED_BLOBS_PREFIX, STAGED_PREFIX, staging_storage

log = logging.getLogger(__name__)


@dataclass
class PurgeResult:
    purged: list[str] = field(default_factory=list)
    kept_pending: int = 0
    kept_fresh: int = 0


def staged_uploads_purge(*, max_age_seconds: int | None = None, dry_run: bool = False) -> PurgeResult:
    """Delete each staged zip (or API-sent file) older than the max age that no pending build reads.

    A build still staged or uploading keeps its zip whatever its age (one
    waiting hours for its bucket, say); the form's reference to a staged zip
    expires at the same age, so nothing purged is still offered back.
    """
    age = settings.GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    open_builds = Build.objects.filter(status__in=[Build.Status.STAGED, Build.Status.UPLOADING])
    pending = set(open_builds.exclude(staged_name="").values_list("staged_name", flat=True))
    # A manifest deploy's small files: <blobs prefix><build id>/<sha256>.
    pending_blob_builds = {str(pk) for pk in open_builds.filter(source=Build.Source.MANIFEST).values_list("pk", flat=True)}
    storage = staging_storage()
    result = PurgeResult()
    for name, modified in storage.staged_files(STAGED_PREFIX):
        if name in pending or (
            name.startswith(STAGED_BLOBS_PREFIX) and name[len(STAGED_BLOBS_PREFIX) :].split("/", 1)[0] in pending_blob_builds
        ):
            result.kept_pending += 1
        elif modified >= cutoff:
            result.kept_fresh += 1
        else:
            if not dry_run:
                storage.delete(name)
            result.purged.append(name)
    if result.purged and not dry_run:
        # A finished or failed build no longer names a file that is gone.
        Build.objects.filter(staged_name__in=result.purged).update(staged_name="")
        log.info("purged %d staged upload(s)", len(result.purged))
    return result
