"""A site build (.zip) chosen on a form: checked, staged in storage, carried across a failed submit.

The upload arrives as a temporary file (FILE_UPLOAD_HANDLERS), is checked
from there and streamed to the staging storage (sites/staging.py: the S3
staging bucket in production), so no whole zip is ever held in memory.
"""

import logging
import uuid
import zipfile

from django.conf import settings
from django.core import signing
from django.utils.text import get_valid_filename

from .. import aws
from ..archives import BuildRefused, archive_entries
from ..staging import STAGED_PREFIX, staging_storage

log = logging.getLogger(__name__)

_STAGED_SALT = "gatehouse.staged-build"


def staged_max_age() -> int:
    """A staged file is offered back this long after a failed submit, and purged after it."""
    return settings.GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def zip_problem(upload) -> str | None:
    """Why `upload` is not a usable built site, or None.

    The same rules as the worker's (sites.archives), so the form refuses
    now what the upload would refuse minutes later.
    """
    if not upload.name.lower().endswith(".zip"):
        return "Choose a .zip file of the built site."
    limit = settings.GATEHOUSE_BUILD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        # Compressed, it can only be smaller than what it unpacks to.
        return f"The zip is {_megabytes(upload.size)}; a build may be at most {_megabytes(limit)} (GATEHOUSE_BUILD_MAX_BYTES)."
    try:
        with zipfile.ZipFile(upload) as archive:
            try:
                archive_entries(archive)
            except BuildRefused as exc:
                message = str(exc)
                nested = sorted(n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/index.html"))
                if "no index.html" in message and nested:
                    return (
                        f"The zip has no index.html at its top level (found {nested[0]}): "
                        "zip the contents of the build folder, not the folder itself."
                    )
                return f"The zip cannot be used: {message}."
    except zipfile.BadZipFile:
        return "That file is not a readable zip archive."
    finally:
        upload.seek(0)
    return None


def stage_build(upload) -> str:
    """Keep the zip in the staging storage; the worker reads it from there, never through the broker."""
    name = get_valid_filename(upload.name) or "build.zip"
    return staging_storage().save(f"{STAGED_PREFIX}{uuid.uuid4().hex}/{name}", upload)


def staged_token(staged_name: str, size: int | None = None) -> str:
    # Signed, so a hidden field cannot be edited to point at another stored
    # file. It carries the size too, so a form shows the staged file without
    # asking the storage (no I/O in clean()). It expires with the staged
    # file's purge age: a valid token's file has not been purged.
    return signing.dumps([staged_name, size], salt=_STAGED_SALT)


def staged_from(token: str) -> tuple[str, int | None] | None:
    """The staged name and size a token names, or None (forged, expired, or not a staged name)."""
    try:
        value = signing.loads(token, salt=_STAGED_SALT, max_age=staged_max_age())
    except signing.BadSignature:
        return None
    name, size = (value, None) if isinstance(value, str) else (value if isinstance(value, list) and len(value) == 2 else (None, None))
    if not isinstance(name, str) or not name.startswith(STAGED_PREFIX) or ".." in name.split("/"):
        return None
    return name, size if isinstance(size, int) else None


def staged_name_from(token: str) -> str | None:
    found = staged_from(token)
    return found[0] if found else None


class StagedBuildMixin:
    """A zip field that survives a failed submit: the file is staged as soon as
    it validates, and the form carries a signed reference to it.

    clean() only checks the zip; the view calls `stage_upload()` after
    `is_valid()` (whatever its answer), since staging writes to storage.
    """

    build_field = "build"

    def _clean_staged_build(self, *, required: bool):
        upload = self.cleaned_data.get(self.build_field)
        token = self.data.get("staged_build", "")
        if upload:
            problem = zip_problem(upload)
            if problem:
                self.add_error(self.build_field, problem)
                return None
            self._upload_to_stage = upload
            return upload.name
        if token:
            found = staged_from(token)
            if found:
                name, size = found
                self.staged_name = name
                self.staged_display = (name.rsplit("/", 1)[-1], size)
                return name
        if required:
            self.add_error(self.build_field, "Choose the built site as a .zip file (it must have index.html at its top level).")
        return None

    def stage_upload(self) -> str | None:
        """Stage the zip that clean() accepted, if any; the staged name."""
        upload = getattr(self, "_upload_to_stage", None)
        if upload is not None:
            self._upload_to_stage = None
            try:
                self.staged_name = stage_build(upload)
            except aws.AwsError as exc:
                log.warning("staging a build failed: %s", exc.code or type(exc).__name__)
                self.add_error(
                    self.build_field,
                    "The zip could not be stored for upload (the staging storage did not answer); choose it again in a minute.",
                )
                return None
            self.staged_display = (upload.name, upload.size)
        return getattr(self, "staged_name", None)

    @property
    def staged_build_token(self) -> str:
        if not getattr(self, "staged_name", None):
            return ""
        display = getattr(self, "staged_display", None)
        return staged_token(self.staged_name, display[1] if display else None)
