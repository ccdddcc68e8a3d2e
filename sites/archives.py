"""Reading an uploaded site build (a zip) safely, and how each file is served.

The zip comes from staff, but it is still untrusted input to a worker: an
entry may try to escape its prefix, be a link, or inflate to far more than it
claims. Everything is checked from the central directory before a single
byte is uploaded, and sizes are enforced again while reading.
"""

import hashlib
import mimetypes
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

# Real assets compress maybe 10:1 (minified JS, SVG); a bomb, thousands.
MAX_RATIO = 200
MAX_KEY_BYTES = 900  # S3 allows 1,024 with the builds/<id>/ prefix in front

# A browser keys its cache by the viewer's URL, and every build is served at
# the same URLs: a name that is not content-hashed must be revalidated (the
# ETag makes that a 304 when it did not change), or a returning viewer gets
# the new index.html with the old app.js. Only a content-hashed name can
# never stand for other bytes, so only it may be cached for a year.
REVALIDATE_CACHE = "no-cache"
HTML_CACHE = REVALIDATE_CACHE
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"

# The hash segment of app.3f9a1c2b.js, main.8e2a1c3f.chunk.js (hex, with a
# digit and a letter, so a date is not one) or index-BX8a_Zq1.css (Vite's
# base64url: upper, lower and a digit, so "-fontawesome" is not one). A hash
# this misses is only revalidated; a word taken for a hash would be cached
# for a year, so the rules lean towards missing.
_HEX_HASH = re.compile(r"(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,64}\Z")
_B64_HASH = re.compile(r"(?=[\w-]*[0-9])(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[A-Za-z0-9_-]{8,16}\Z", re.ASCII)
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


class BuildRefused(Exception):
    """The archive is not a build we will serve; the message says why, for a person."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, forward slashes, no leading slash
    info: zipfile.ZipInfo
    content_type: str
    cache_control: str


def content_type_for(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path, strict=False)
    if path.endswith(".js") or path.endswith(".mjs"):
        guessed = "application/javascript"
    elif path.endswith(".webmanifest"):
        guessed = "application/manifest+json"
    elif path.endswith(".wasm"):
        guessed = "application/wasm"
    content_type = guessed or "application/octet-stream"
    if content_type.startswith(_TEXT_TYPES):
        content_type += "; charset=utf-8"
    return content_type


def is_content_hashed(name: str) -> bool:
    """Does the file name carry a content hash (a segment of 8+ hex or base64url characters)?"""
    parts = name.split(".")
    for index, part in enumerate(parts[:-1]):  # never the extension
        # The hash is a whole dot-separated part, or what follows a "-" in one.
        for start in [0] + [i + 1 for i, ch in enumerate(part) if ch == "-"]:
            segment = part[start:]
            if _HEX_HASH.match(segment):
                return True
            # A whole leading part is the file's own name ("Base64Util.js"), not a hash.
            if (start or index) and _B64_HASH.match(segment):
                return True
    return False


def cache_control_for(path: str) -> str:
    name = posixpath.basename(path)
    if name.endswith((".html", ".htm")):
        # Always revalidated: it names the hashed assets of its own build.
        return HTML_CACHE
    if is_content_hashed(name):
        return IMMUTABLE_CACHE
    return REVALIDATE_CACHE


def _safe_path(raw: str) -> str:
    if "\x00" in raw or "\\" in raw:
        raise BuildRefused(f"{raw!r}: file names may not contain backslashes or NUL")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise BuildRefused(f"{raw!r}: absolute paths are not allowed")
    parts = raw.split("/")
    if any(part == ".." for part in parts):
        raise BuildRefused(f"{raw!r}: '..' is not allowed in a path")
    clean = [part for part in parts if part not in ("", ".")]
    if not clean:
        raise BuildRefused(f"{raw!r}: empty file name")
    path = "/".join(clean)
    if len(path.encode("utf-8")) > MAX_KEY_BYTES:
        raise BuildRefused(f"{path[:60]}…: path too long")
    return path


def _is_link_or_special(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # Unix attributes present
        kind = stat.S_IFMT(mode)
        return kind not in (0, stat.S_IFREG, stat.S_IFDIR)
    return False


def archive_entries(archive: zipfile.ZipFile) -> list[Entry]:
    """Check the whole archive; the files to upload, or BuildRefused."""
    max_files = settings.GATEHOUSE_BUILD_MAX_FILES
    max_bytes = settings.GATEHOUSE_BUILD_MAX_BYTES
    infos = archive.infolist()
    if len(infos) > max_files * 2:  # directories count too, but not unboundedly
        raise BuildRefused(f"the archive has {len(infos)} entries; at most {max_files} files are allowed")
    entries: list[Entry] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise BuildRefused(f"{info.filename!r} is encrypted")
        if _is_link_or_special(info):
            raise BuildRefused(f"{info.filename!r} is a link or special file; only regular files are allowed")
        path = _safe_path(info.filename)
        if info.is_dir():
            continue
        folded = path.casefold()
        if folded in seen:
            raise BuildRefused(f"{path!r} is in the archive twice")
        seen.add(folded)
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BuildRefused(f"{path!r} expands {info.file_size // max(info.compress_size, 1)}-fold; refusing a zip bomb")
        total += info.file_size
        if total > max_bytes:
            raise BuildRefused(f"the files add up to more than {max_bytes // (1024 * 1024)} MB")
        entries.append(Entry(path, info, content_type_for(path), cache_control_for(path)))
        if len(entries) > max_files:
            raise BuildRefused(f"more than {max_files} files")
    if not entries:
        raise BuildRefused("the archive has no files")
    if "index.html" not in {e.path for e in entries}:
        raise BuildRefused("the archive has no index.html at its top level")
    return entries


def entry_read(archive: zipfile.ZipFile, entry: Entry) -> bytes:
    """The entry's bytes, never more than its header declared (the CRC is checked too)."""
    with archive.open(entry.info) as handle:
        data = handle.read(entry.info.file_size + 1)
    if len(data) != entry.info.file_size:
        raise BuildRefused(f"{entry.path!r} is not the size its header declares")
    return data


def archive_sha256(handle) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def iter_files(archive: zipfile.ZipFile, entries: list[Entry]) -> Iterator[tuple[Entry, bytes]]:
    for entry in entries:
        yield entry, entry_read(archive, entry)


_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str
    content_type: str
    cache_control: str


def manifest_entries(files: list[dict]) -> list[ManifestEntry]:
    """Check a deploy manifest ([{"path", "size", "sha256"}]) by the zip's own rules; its entries, or BuildRefused."""
    max_files = settings.GATEHOUSE_BUILD_MAX_FILES
    max_bytes = settings.GATEHOUSE_BUILD_MAX_BYTES
    if not isinstance(files, list) or not files:
        raise BuildRefused("the manifest lists no files")
    if len(files) > max_files:
        raise BuildRefused(f"more than {max_files} files")
    entries: list[ManifestEntry] = []
    seen: set[str] = set()
    total = 0
    for item in files:
        if not isinstance(item, dict):
            raise BuildRefused("each file is an object with path, size and sha256")
        raw, size, digest = item.get("path"), item.get("size"), item.get("sha256")
        if not isinstance(raw, str):
            raise BuildRefused("each file needs a path")
        path = _safe_path(raw)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BuildRefused(f"{path!r}: size must be a whole number of bytes")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise BuildRefused(f"{path!r}: sha256 must be 64 lower-case hex digits")
        folded = path.casefold()
        if folded in seen:
            raise BuildRefused(f"{path!r} is in the manifest twice")
        seen.add(folded)
        total += size
        if total > max_bytes:
            raise BuildRefused(f"the files add up to more than {max_bytes // (1024 * 1024)} MB")
        entries.append(ManifestEntry(path, size, digest, content_type_for(path), cache_control_for(path)))
    if "index.html" not in {e.path for e in entries}:
        raise BuildRefused("the manifest has no index.html at its top level")
    return entries
