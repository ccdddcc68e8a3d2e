"""The deployment zip for Lambda@Edge: ``python -m edge_runtime.build``.

    python -m edge_runtime.build --settings FILE [--out DIR] [--python 3.12] [--interpreter PATH]

Writes ``gatehouse-edge-<version>.zip`` and prints its path, size, SHA-256
(hex) and SHA-256 (base64, what Lambda reports as ``CodeSha256``), and which
byte-code it carries.

The zip holds ``edge_runtime/*.py`` (not this module nor the local gateway and its log shipping,
which never run at the edge) and ``edge_runtime/edge_settings.json``, so the
handler is ``edge_runtime.handler.handler``. Same inputs, same bytes: entries
are sorted, dated 1980-01-01, mode 0644, compressed at a fixed level.

``--python X.Y`` (or ``pythonX.Y``, the Lambda runtime name) also adds
byte-compiled ``__pycache__/*.cpython-XY.pyc`` files (hash-checked, PEP 552,
so no timestamps are involved), which saves compiling every module at each
cold start: ``/var/task`` is read-only, so Lambda can never keep its own, and
compiling the sources costs about as much again as the imports themselves.

A .pyc only loads on the interpreter version that wrote it, so they are
written by a CPython X.Y: ``--interpreter PATH`` (the console's
``GATEHOUSE_EDGE_BUILD_PYTHON``), else this interpreter when it is X.Y, else
``pythonX.Y`` on the PATH, else a pyenv installation of X.Y. It runs in a
fresh, isolated process (``-s -S``, an empty environment, a fixed hash seed,
and ``-X no_debug_ranges``, which leaves out the column tables):
``marshal`` output depends on what else the compiling process holds, and the
console's web and worker processes must build the same bytes. With no such
interpreter the zip is sources only, which is slower at each cold start but
correct on any runtime, and the build says so (a warning in the log, a note
on stderr). Without ``--python`` the zip is sources only.
"""

import argparse
import base64
import glob
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile

from . import __version__
from .settings import FILE_NAME, SettingsError, load_settings, settings_from_dict

log = logging.getLogger(__name__)

MAX_ZIP_BYTES = 1024 * 1024  # Lambda@Edge viewer-request package limit
PACKAGE = "edge_runtime"
EXCLUDED = frozenset({"build.py", "gateway.py", "log_shipping.py"})
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 9
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
COMPILE_TIMEOUT_SECONDS = 60

# Run by the target interpreter with the sources as JSON on stdin; answers
# its version, its cache tag and a checked-hash .pyc (PEP 552) per module.
_COMPILER = r"""
import sys
sys.path[:] = [p for p in sys.path if p]
import base64, importlib.util, json, marshal
request = json.load(sys.stdin)
pyc = {}
for name, encoded in request["sources"]:
    source = base64.b64decode(encoded)
    code = compile(source, request["package"] + "/" + name, "exec", dont_inherit=True, optimize=0)
    data = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little") + importlib.util.source_hash(source) + marshal.dumps(code)
    pyc[name] = base64.b64encode(data).decode()
json.dump({"python": "%d.%d" % sys.version_info[:2], "implementation": sys.implementation.name,
           "cache_tag": sys.implementation.cache_tag, "pyc": pyc}, sys.stdout)
"""
_PROBE = 'import sys; print("%d.%d" % sys.version_info[:2], sys.implementation.name, sys.implementation.cache_tag)'


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


def target_python(python):
    """"3.12" from "3.12" or from the Lambda runtime name "python3.12"."""
    match = re.fullmatch(r"(?:python)?(3\.\d{1,2})", str(python).strip())
    if not match:
        raise BuildError(f"{python!r} is not a Python runtime (python3.12) nor a version (3.12)")
    return match.group(1)


def _child_env():
    # Nothing of the caller's environment (PYTHONPATH, PYTHONSTARTUP, a
    # pyenv version file) reaches the child; a fixed seed keeps any
    # hash-ordered constant in the same order in every build.
    return {"PYTHONHASHSEED": "0", "PATH": os.defpath, "LC_ALL": "C.UTF-8"}


def _probe(executable):
    """(version, cache tag) of a CPython executable, or None."""
    try:
        result = subprocess.run(
            [executable, "-s", "-S", "-c", _PROBE], env=_child_env(), capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = result.stdout.split()
    if result.returncode != 0 or len(parts) != 3 or parts[1] != "cpython":
        return None
    return parts[0], parts[2]


def _version_key(path):
    found = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)", path)
    return tuple(int(n) for n in found.groups()) if found else (0, 0, 0)


def interpreter_candidates(python, interpreter=None):
    """Where a CPython ``python`` (X.Y) may be, most explicit first."""
    candidates = [interpreter] if interpreter else []
    if python == f"{sys.version_info.major}.{sys.version_info.minor}" and sys.implementation.name == "cpython":
        candidates.append(sys.executable)
    on_path = shutil.which(f"python{python}")
    if on_path:
        candidates.append(on_path)  # a pyenv shim fails the probe unless X.Y is selected
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = glob.glob(os.path.join(pyenv_root, "versions", f"{python}.*", "bin", f"python{python}"))
    candidates += sorted(found, key=_version_key, reverse=True)
    unique = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


_found = {}


def find_interpreter(python, interpreter=None):
    """A CPython executable of version ``python`` (X.Y), or None.

    Remembered per process: the web and worker processes look once each.
    """
    python = target_python(python)
    key = (python, interpreter)
    if key not in _found:
        chosen = None
        for candidate in interpreter_candidates(python, interpreter):
            probed = _probe(candidate)
            if probed is not None and probed[0] == python:
                chosen = candidate
                break
            if candidate == interpreter:
                log.warning("edge build: %s is not a CPython %s (it says %s); looking elsewhere", candidate, python, probed)
        _found[key] = chosen
    return _found[key]


_compiled = {}


def compile_pyc(sources, executable):
    """(cache tag, {name: .pyc bytes}) compiled by ``executable`` in a fresh process."""
    digest = hashlib.sha256(repr(sources).encode()).hexdigest()
    key = (executable, digest)
    if key not in _compiled:
        request = {"package": PACKAGE, "sources": [(name, base64.b64encode(data).decode()) for name, data in sources]}
        try:
            result = subprocess.run(
                # no_debug_ranges (3.11+; ignored before) leaves out the
                # column tables: a third of the byte-code, only the ^^^
                # markers under a traceback line need them.
                [executable, "-s", "-S", "-X", "no_debug_ranges", "-c", _COMPILER],
                input=json.dumps(request),
                env=_child_env(),
                capture_output=True,
                text=True,
                timeout=COMPILE_TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise BuildError(f"compiling with {executable} failed: {exc}") from None
        if result.returncode != 0:
            raise BuildError(f"compiling with {executable} failed: {result.stderr.strip()[-500:]}")
        answer = json.loads(result.stdout)
        pyc = {name: base64.b64decode(data) for name, data in answer["pyc"].items()}
        _compiled[key] = (answer["python"], answer["cache_tag"], pyc)
    return _compiled[key]


# Finished zips by the digest of what went in; a few settings at most per process.
_zipped = {}
_ZIPPED_MAX = 8


def build_zip(settings_path=None, *, settings=None, python=None, interpreter=None):
    """The zip as bytes; raise BuildError (bad settings, too large).

    ``python``: the function's runtime ("python3.12" or "3.12"); the zip then
    carries byte-code for it when a CPython of that version is found
    (``interpreter`` first), and sources only otherwise, with a warning.
    """
    sources = runtime_sources()
    files = [(f"{PACKAGE}/{name}", data) for name, data in sources]
    files.append((f"{PACKAGE}/{FILE_NAME}", _settings_json(settings_path, settings)))
    if python is not None:
        target = target_python(python)
        executable = find_interpreter(target, interpreter)
        if executable is None:
            log.warning(
                "edge build: no CPython %s found (set GATEHOUSE_EDGE_BUILD_PYTHON to one): the zip carries "
                "sources only, which the python%s runtime compiles at every cold start",
                target,
                target,
            )
        else:
            version, tag, pyc = compile_pyc(sources, executable)
            if version != target:  # the executable changed under us since the probe
                raise BuildError(f"{executable} is Python {version}, not {target}")
            for name, data in pyc.items():
                files.append((f"{PACKAGE}/__pycache__/{name[:-3]}.{tag}.pyc", data))

    # Every provision builds it to find its release by digest: deflating the
    # same files again was a tenth of save -> live on moto (issue 9, scale).
    # Keyed on every byte that goes in, so any change builds afresh.
    inputs = hashlib.sha256()
    for arcname, data in sorted(files):
        name = arcname.encode()
        inputs.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    key = (inputs.hexdigest(), COMPRESS_LEVEL, FIXED_DATE)
    data = _zipped.get(key)
    if data is None:
        data = _zip(files)
    if len(data) > MAX_ZIP_BYTES:
        raise BuildError(f"the zip is {len(data)} bytes; Lambda@Edge allows at most {MAX_ZIP_BYTES} for a viewer-request function")
    if key not in _zipped:
        if len(_zipped) >= _ZIPPED_MAX:
            _zipped.clear()
        _zipped[key] = data
    return data


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so unzip and Lambda honour the mode bits
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def bytecode_tags(data):
    """The cache tags ("cpython-312") whose .pyc files the zip carries."""
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    return sorted({name.rsplit(".", 2)[-2] for name in names if name.endswith(".pyc")})


def zip_name():
    return f"gatehouse-edge-{__version__}.zip"


def digests(data):
    digest = hashlib.sha256(data).digest()
    return digest.hex(), base64.b64encode(digest).decode()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m edge_runtime.build", description=__doc__.split("\n")[0])
    parser.add_argument("--settings", required=True, help="edge settings JSON to bake into the zip")
    parser.add_argument("--out", default="dist", help="output folder (default: dist)")
    parser.add_argument("--python", help="the function's runtime, e.g. 3.12 or python3.12: adds its .pyc files")
    parser.add_argument("--interpreter", help="a CPython of that version to compile with (default: looked for)")
    args = parser.parse_args(argv)
    try:
        if args.python is not None and find_interpreter(args.python, args.interpreter) is None:
            print(
                f"note: no CPython {target_python(args.python)} found: no .pyc files "
                "(they only load on the version that wrote them); the zip is sources only",
                file=sys.stderr,
            )
        data = build_zip(args.settings, python=args.python, interpreter=args.interpreter)
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
    print(f"bytecode: {', '.join(bytecode_tags(data)) or 'none (sources only)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
