"""The deployment zip: deterministic, small, only what runs at the edge."""

import hashlib
import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edge_runtime import __version__, build
from edge_runtime.build import MAX_ZIP_BYTES, BuildError, build_zip

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


def test_pyc_files_are_added_only_for_this_interpreter():
    tag = sys.implementation.cache_tag
    names = {i.filename for i in entries(build_zip(settings=SETTINGS, python=HERE))}
    assert f"edge_runtime/__pycache__/handler.{tag}.pyc" in names
    other = "3.9" if HERE != "3.9" else "3.13"
    assert not any(n.endswith(".pyc") for n in (i.filename for i in entries(build_zip(settings=SETTINGS, python=other))))


def test_the_unpacked_zip_imports_the_handler_from_its_pyc_files(tmp_path):
    zipfile.ZipFile(io.BytesIO(build_zip(settings=SETTINGS, python=HERE))).extractall(tmp_path)
    result = subprocess.run(
        [sys.executable, "-v", "-c", "import edge_runtime.handler, edge_runtime.store, edge_runtime.settings as s; print(s.get_settings().config_bucket)"],
        cwd=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "gatehouse-config"
    used = f"code object from '{tmp_path}/edge_runtime/__pycache__/store.{sys.implementation.cache_tag}.pyc'"
    assert used in result.stderr
