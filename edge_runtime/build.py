"""The deployment zip for Lambda@Edge: ``python -m edge_runtime.build``.

    python -m edge_runtime.build --settings FILE [--out DIR] [--python 3.12]

Writes ``gatehouse-edge-<version>.zip`` and prints its path, size, SHA-256
(hex) and SHA-256 (base64, what Lambda reports as ``CodeSha256``).

The zip holds ``edge_runtime/*.py`` (not this module nor the local gateway,
which never run at the edge) and ``edge_runtime/edge_settings.json``, so the
handler is ``edge_runtime.handler.handler``. Same inputs, same bytes: entries
are sorted, dated 1980-01-01, mode 0644, compressed at a fixed level.

``--python X.Y`` also adds byte-compiled ``__pycache__/*.cpython-XY.pyc``
files (hash-checked, PEP 552, so no timestamps are involved), which saves
compiling every module at each cold start (``/var/task`` is read-only, so
Lambda cannot keep its own). A .pyc is only valid for the interpreter version
that wrote it, so they are added only when this interpreter is that version;
otherwise the build says so and ships sources only. Without ``--python`` the
zip is sources only and runs on any supported runtime.
"""

import argparse
import base64
import hashlib
import importlib.util
import io
import json
import marshal
import os
import sys
import zipfile

from . import __version__
from .settings import FILE_NAME, SettingsError, load_settings, settings_from_dict

MAX_ZIP_BYTES = 1024 * 1024  # Lambda@Edge viewer-request package limit
PACKAGE = "edge_runtime"
EXCLUDED = frozenset({"build.py", "gateway.py"})
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class BuildError(Exception):
    pass


def runtime_sources(package_dir=PACKAGE_DIR):
    """Sorted (name, bytes) for every module that runs at the edge."""
    names = sorted(
        name
        for name in os.listdir(package_dir)
        if name.endswith(".py") and name not in EXCLUDED and not name.startswith(("test_", "."))
    )
    sources = []
    for name in names:
        with open(os.path.join(package_dir, name), "rb") as f:
            sources.append((name, f.read()))
    return sources


def _settings_json(settings_path, settings):
    if (settings_path is None) == (settings is None):
        raise BuildError("give exactly one of a settings file or a settings dict")
    try:
        parsed = load_settings(settings_path) if settings_path is not None else settings_from_dict(settings, "settings")
    except SettingsError as exc:
        raise BuildError(str(exc)) from None
    # Written from the validated values, so the baked file is canonical.
    return (json.dumps(parsed.to_dict(), indent=2, sort_keys=True) + "\n").encode()


def _pyc(name, source):
    """A checked-hash .pyc (PEP 552) for this interpreter."""
    code = compile(source, f"{PACKAGE}/{name}", "exec", dont_inherit=True, optimize=0)
    flags = 0b11  # hash-based, checked against the source
    return (
        importlib.util.MAGIC_NUMBER
        + flags.to_bytes(4, "little")
        + importlib.util.source_hash(source)
        + marshal.dumps(code)
    )


def _target_matches(python):
    return python == f"{sys.version_info.major}.{sys.version_info.minor}"


def build_zip(settings_path=None, *, settings=None, python=None):
    """The zip as bytes; raise BuildError (bad settings, too large)."""
    files = [(f"{PACKAGE}/{name}", data) for name, data in runtime_sources()]
    files.append((f"{PACKAGE}/{FILE_NAME}", _settings_json(settings_path, settings)))
    if python is not None and _target_matches(python):
        tag = sys.implementation.cache_tag
        for name, data in runtime_sources():
            files.append((f"{PACKAGE}/__pycache__/{name[:-3]}.{tag}.pyc", _pyc(name, data)))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip and Lambda honour the mode bits
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
    data = buffer.getvalue()
    if len(data) > MAX_ZIP_BYTES:
        raise BuildError(f"the zip is {len(data)} bytes; Lambda@Edge allows at most {MAX_ZIP_BYTES} for a viewer-request function")
    return data


def zip_name():
    return f"gatehouse-edge-{__version__}.zip"


def digests(data):
    digest = hashlib.sha256(data).digest()
    return digest.hex(), base64.b64encode(digest).decode()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m edge_runtime.build", description=__doc__.split("\n")[0])
    parser.add_argument("--settings", required=True, help="edge settings JSON to bake into the zip")
    parser.add_argument("--out", default="dist", help="output folder (default: dist)")
    parser.add_argument("--python", help="target runtime, e.g. 3.12: adds .pyc files if this interpreter is that version")
    args = parser.parse_args(argv)
    if args.python is not None and not _target_matches(args.python):
        print(
            f"note: building with Python {sys.version_info.major}.{sys.version_info.minor}, target {args.python}: "
            "no .pyc files (they only load on the version that wrote them)",
            file=sys.stderr,
        )
    try:
        data = build_zip(args.settings, python=args.python)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, zip_name())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    hex_digest, b64_digest = digests(data)
    print(f"path: {path}")
    print(f"size: {len(data)}")
    print(f"sha256: {hex_digest}")
    print(f"code_sha256: {b64_digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
