"""Where a build zip waits between the page that took it and the worker that uploads it.

With `GATEHOUSE_STAGING_BUCKET` set (production: a system check insists),
the staging bucket on S3 (`aws.StagingStorage`): web and worker share
nothing but the database, the broker and S3. Unset (development, tests),
`MEDIA_ROOT` on the local disk, which `make run`'s processes share.

Both storages answer `staged_files(prefix)`: every staged file with when it
was written, for the purge (services/staged_uploads.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage

from . import aws

# Every staged name starts with this; the purge looks nowhere else.
STAGED_PREFIX = "staged-builds/"
# Small files an API manifest deploy sent, until the worker stores them:
# <prefix><build id>/<sha256>.
STAGED_BLOBS_PREFIX = f"{STAGED_PREFIX}blobs/"


class LocalStagingStorage(FileSystemStorage):
    """MEDIA_ROOT, for a console whose processes share one disk."""

    def staged_files(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        top = self.path(prefix)
        for folder, _dirs, files in os.walk(top):
            for file in files:
                path = os.path.join(folder, file)
                name = os.path.relpath(path, self.location).replace(os.sep, "/")
                yield name, datetime.fromtimestamp(os.path.getmtime(path), tz=timezone.utc)


def staging_storage() -> Storage:
    """The storage staged builds go to and are read from (cheap: make one per use)."""
    if settings.GATEHOUSE_STAGING_BUCKET:
        return aws.StagingStorage(settings.GATEHOUSE_STAGING_BUCKET)
    return LocalStagingStorage(location=settings.MEDIA_ROOT)
