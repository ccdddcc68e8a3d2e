"""Without ../shared the Wycheproof tests skip visibly, and under CI they fail.

Each case runs the real test_wycheproof.py, copied to a folder with no
``shared`` beside it, in a child pytest.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_without_vectors(tmp_path, ci):
    # test_wycheproof.py looks for <its grandparent's parent>/shared.
    folder = tmp_path / "clone" / "tests" / "edge"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "edge" / "test_wycheproof.py", folder / "test_wycheproof.py")
    assert not (tmp_path / "shared").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", "-p", "no:django",
         "--rootdir", str(folder), str(folder / "test_wycheproof.py")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_missing_vectors_fail_the_run(tmp_path, ci):
    code, output = run_without_vectors(tmp_path, ci)
    assert code == 1, output
    assert "Wycheproof vectors not found" in output and "error" in output
    assert "passed" not in output and "skipped" not in output


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_outside_ci_missing_vectors_skip_with_a_reason(tmp_path, ci):
    code, output = run_without_vectors(tmp_path, ci)
    assert code == 0, output
    assert "SKIPPED" in output and "Wycheproof vectors not found" in output
    assert "error" not in output
