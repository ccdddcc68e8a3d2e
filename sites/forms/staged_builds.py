"""A site build (.zip) chosen on a form: checked, staged in storage, carried across a failed submit."""

import uuid
import zipfile

from django.core import signing
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename

from ..archives import BuildRefused, archive_entries

STAGED_PREFIX = "staged-builds/"
# A staged file is offered back for this long after a failed submit.
STAGED_MAX_AGE = 24 * 3600
_STAGED_SALT = "gatehouse.staged-build"


def zip_problem(upload) -> str | None:
    """Why `upload` is not a usable built site, or None.

    The same rules as the worker's (sites.archives), so the form refuses
    now what the upload would refuse minutes later.
    """
    if not upload.name.lower().endswith(".zip"):
        return "Choose a .zip file of the built site."
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
    """Keep the zip in default storage; the worker reads it from there, never through the broker."""
    name = get_valid_filename(upload.name) or "build.zip"
    return default_storage.save(f"{STAGED_PREFIX}{uuid.uuid4().hex}/{name}", upload)


def staged_token(staged_name: str) -> str:
    # Signed, so a hidden field cannot be edited to point at another stored file.
    return signing.dumps(staged_name, salt=_STAGED_SALT)


def staged_name_from(token: str) -> str | None:
    try:
        name = signing.loads(token, salt=_STAGED_SALT, max_age=STAGED_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(STAGED_PREFIX) or not default_storage.exists(name):
        return None
    return name


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
            name = staged_name_from(token)
            if name:
                self.staged_name = name
                self.staged_display = (name.rsplit("/", 1)[-1], default_storage.size(name))
                return name
        if required:
            self.add_error(self.build_field, "Choose the built site as a .zip file (it must have index.html at its top level).")
        return None

    def stage_upload(self) -> str | None:
        """Stage the zip that clean() accepted, if any; the staged name."""
        upload = getattr(self, "_upload_to_stage", None)
        if upload is not None:
            self._upload_to_stage = None
            self.staged_name = stage_build(upload)
            self.staged_display = (upload.name, upload.size)
        return getattr(self, "staged_name", None)

    @property
    def staged_build_token(self) -> str:
        return staged_token(self.staged_name) if getattr(self, "staged_name", None) else ""
