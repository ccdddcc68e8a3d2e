"""The deployment zip: deterministic, small, only what runs at the edge."""

import hashlib
import base64
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edge_runtime import __version__, build
from edge_runtime.build import MAX_ZIP_BYTES, BuildError, build_zip
from tests.edge.zip_support import loaded_from_pyc, unpacked_imports

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"config_bucket": "gatehouse-config", "config_region": "us-east-1", "cache_ttl_seconds": 30}
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def entries(data):
    return zipfile.ZipFile(io.BytesIO(data)).infolist()


def test_two_builds_are_identical_bytes(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SETTINGS))
    assert build_zip(str(path)) == build_zip(settings=dict(SETTINGS))
    assert build_zip(settings=SETTINGS, python=HERE) == build_zip(settings=SETTINGS, python=HERE)


def test_builds_in_separate_processes_are_identical(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SETTINGS))
    outputs = []
    for out in ("a", "b"):
        result = subprocess.run(
            [sys.executable, "-m", "edge_runtime.build", "--settings", str(path), "--out", str(tmp_path / out), "--python", HERE],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(result.stdout)
    a = (tmp_path / "a" / f"gatehouse-edge-{__version__}.zip").read_bytes()
    assert a == (tmp_path / "b" / f"gatehouse-edge-{__version__}.zip").read_bytes()
    digest = hashlib.sha256(a).digest()
    assert f"size: {len(a)}" in outputs[0]
    assert f"sha256: {digest.hex()}" in outputs[0]
    assert f"code_sha256: {base64.b64encode(digest).decode()}" in outputs[0]


def test_it_is_well_under_the_viewer_request_limit():
    data = build_zip(settings=SETTINGS, python=HERE)
    assert len(data) < MAX_ZIP_BYTES


def test_entries_are_sorted_dated_1980_and_mode_0644():
    infos = entries(build_zip(settings=SETTINGS, python=HERE))
    names = [i.filename for i in infos]
    assert names == sorted(names)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3


def test_it_holds_the_runtime_and_the_settings_and_nothing_else():
    names = {i.filename for i in entries(build_zip(settings=SETTINGS))}
    assert "edge_runtime/handler.py" in names and "edge_runtime/__init__.py" in names
    assert "edge_runtime/store.py" in names and "edge_runtime/sigv4.py" in names
    assert "edge_runtime/edge_settings.json" in names
    assert not {"edge_runtime/gateway.py", "edge_runtime/build.py"} & names
    assert all(n.startswith("edge_runtime/") for n in names)
    assert not any("test" in n or n.endswith(".pyc") for n in names)


def test_the_baked_settings_are_the_validated_ones():
    archive = zipfile.ZipFile(io.BytesIO(build_zip(settings=SETTINGS)))
    baked = json.loads(archive.read("edge_runtime/edge_settings.json"))
    assert baked["config_bucket"] == "gatehouse-config"
    assert baked["cache_ttl_seconds"] == 30.0 and baked["stale_ttl_seconds"] == 3600.0


def test_invalid_settings_fail_the_build():
    with pytest.raises(BuildError, match="config_region"):
        build_zip(settings={"config_bucket": "gatehouse-config", "config_region": "nowhere"})
    with pytest.raises(BuildError):
        build_zip()


def test_the_command_fails_clearly_on_bad_settings(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"config_bucket": "x"}')
    result = subprocess.run(
        [sys.executable, "-m", "edge_runtime.build", "--settings", str(path), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "missing keys: config_region" in result.stderr
    assert not list(tmp_path.glob("*.zip"))


def test_a_zip_over_1_mb_fails(monkeypatch):
    big = [("padding.py", os.urandom(1100 * 1024))]  # incompressible
    monkeypatch.setattr(build, "runtime_sources", lambda: big)
    with pytest.raises(BuildError, match="at most 1048576"):
        build_zip(settings=SETTINGS)


def test_pyc_files_are_added_for_the_target_version_by_an_interpreter_of_it():
    tag = sys.implementation.cache_tag
    names = {i.filename for i in entries(build_zip(settings=SETTINGS, python=HERE))}
    assert f"edge_runtime/__pycache__/handler.{tag}.pyc" in names
    assert {n for n in names if n.endswith(".pyc")} == {
        f"edge_runtime/__pycache__/{n[len('edge_runtime/'):-3]}.{tag}.pyc" for n in names if n.endswith(".py")
    }
    # The Lambda runtime's name is understood too.
    assert build_zip(settings=SETTINGS, python=f"python{HERE}") == build_zip(settings=SETTINGS, python=HERE)


def test_with_no_interpreter_of_the_target_version_the_zip_is_sources_only_and_says_so(caplog):
    with caplog.at_level(logging.WARNING, logger="edge_runtime.build"):
        data = build_zip(settings=SETTINGS, python="python3.99")
    assert build.bytecode_tags(data) == [] and data == build_zip(settings=SETTINGS)
    assert "no CPython 3.99 found" in caplog.text and "sources only" in caplog.text


def test_an_interpreter_of_another_version_is_passed_over_with_a_warning(caplog, tmp_path):
    fake = tmp_path / "python3.99"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    fake.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="edge_runtime.build"):
        assert build.find_interpreter("3.99", str(fake)) is None
    assert f"{fake} is not a CPython 3.99" in caplog.text
    assert build.find_interpreter(HERE, str(fake)) == str(fake)


def test_a_runtime_that_is_not_python_is_refused():
    with pytest.raises(BuildError, match="not a Python runtime"):
        build_zip(settings=SETTINGS, python="nodejs20.x")


def test_the_bytes_do_not_depend_on_what_the_building_process_has_imported(tmp_path):
    # marshal marks objects by their reference count, so compiling inside a
    # process that holds other modules (the console: Django, the gateway)
    # could give other bytes than a fresh worker: the .pyc come from a child.
    import edge_runtime.gateway  # noqa: F401  (more interned names in this process)

    path = tmp_path / "s.json"
    path.write_text(json.dumps(SETTINGS))
    subprocess.run(
        [sys.executable, "-m", "edge_runtime.build", "--settings", str(path), "--out", str(tmp_path), "--python", HERE],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    assert (tmp_path / f"gatehouse-edge-{__version__}.zip").read_bytes() == build_zip(str(path), python=HERE)


def test_the_command_says_which_byte_code_the_zip_carries(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SETTINGS))
    for python, expected in ((HERE, f"bytecode: {sys.implementation.cache_tag}"), ("3.99", "bytecode: none (sources only)")):
        result = subprocess.run(
            [sys.executable, "-m", "edge_runtime.build", "--settings", str(path), "--out", str(tmp_path), "--python", python],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert expected in result.stdout
    assert "no CPython 3.99 found" in result.stderr


def test_the_unpacked_zip_imports_the_handler_from_its_pyc_files(tmp_path):
    modules, bucket, trace = unpacked_imports(tmp_path, build_zip(settings=SETTINGS, python=HERE), sys.executable)
    assert bucket == "gatehouse-config"
    for module in modules:
        assert loaded_from_pyc(tmp_path, module, sys.implementation.cache_tag) in trace


def test_a_zip_for_another_runtime_still_runs_here_from_its_sources(tmp_path):
    other = next((v for v in ("3.12", "3.13", "3.10") if v != HERE and build.find_interpreter(v)), None)
    if other is None:
        pytest.skip("no CPython of another version on this machine")
    data = build_zip(settings=SETTINGS, python=other)
    assert build.bytecode_tags(data) == [f"cpython-{other.replace('.', '')}"]
    modules, bucket, trace = unpacked_imports(tmp_path, data, sys.executable)
    # Slower (each module compiled from its .py), never broken.
    assert bucket == "gatehouse-config"
    assert f"{tmp_path}/edge_runtime/__pycache__" not in trace
    for module in modules:
        assert f"code object from {tmp_path}/edge_runtime/{module}.py" in trace


def test_the_same_files_are_deflated_once_a_process_and_any_change_builds_afresh(monkeypatch):
    """Every provision builds the zip to find its release by digest (issue 9, scale)."""
    built = []
    real = zipfile.ZipFile

    def counting(*args, **kwargs):
        if len(args) > 1 and args[1] == "w" or kwargs.get("mode") == "w":
            built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(build.zipfile, "ZipFile", counting)
    settings = dict(SETTINGS, cache_ttl_seconds=17)
    first = build_zip(settings=settings)
    assert build_zip(settings=dict(settings)) == first and len(built) == 1
    other = build_zip(settings=dict(settings, cache_ttl_seconds=18))
    assert other != first and len(built) == 2
    baked = zipfile.ZipFile(io.BytesIO(other)).read(f"{build.PACKAGE}/{build.FILE_NAME}")
    assert json.loads(baked)["cache_ttl_seconds"] == 18
    sources = build.runtime_sources()
    changed = [(name, data + b"\n# changed\n" if name == "handler.py" else data) for name, data in sources]
    monkeypatch.setattr(build, "runtime_sources", lambda: changed)
    assert build_zip(settings=dict(settings)) != first and len(built) == 3
