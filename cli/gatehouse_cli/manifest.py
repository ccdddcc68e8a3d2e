"""A build folder as the console's manifest: every file's path, size and SHA-256."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# Never part of a site: version control and desktop clutter.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__MACOSX"})
SKIPPED_FILES = frozenset({".DS_Store", "Thumbs.db"})


@dataclass(frozen=True)
class LocalFile:
    path: str  # relative, with forward slashes: what the site serves
    size: int
    sha256: str
    source: Path

    def manifest(self) -> dict:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    def read(self) -> bytes:
        return self.source.read_bytes()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(root: Path) -> list[LocalFile]:
    """Every regular file under root, sorted by path. Links to folders are not followed."""
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            if name in SKIPPED_FILES:
                continue
            source = Path(folder) / name
            if not source.is_file():
                continue  # a socket, a broken link
            relative = source.relative_to(root).as_posix()
            files.append(LocalFile(relative, source.stat().st_size, sha256_of(source), source))
    return sorted(files, key=lambda f: f.path)
