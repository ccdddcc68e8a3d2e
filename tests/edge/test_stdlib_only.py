"""edge_runtime imports nothing but the standard library and itself.

The zip must stay under 1 MB and every import is paid at cold start; a stray
third-party import would also only fail at the edge, where it is not installed.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "edge_runtime"
PACKAGE = PACKAGE_DIR.name
MODULES = sorted(PACKAGE_DIR.rglob("*.py"))


def imported_roots(path):
    """(line, top-level module) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package by construction
                found.append((node.lineno, PACKAGE))
            else:
                found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__"):
            # Dynamic imports with a literal name are checked too.
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_there_are_modules_to_check():
    assert {p.name for p in MODULES} >= {"__init__.py", "settings.py", "sigv4.py", "store.py", "build.py", "gateway.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_every_import_is_standard_library_or_the_package(path):
    allowed = set(sys.stdlib_module_names) | {PACKAGE}
    outside = [f"{path.name}:{line} imports {name}" for line, name in imported_roots(path) if name not in allowed]
    assert not outside, outside


def test_the_checker_catches_a_third_party_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import json\ndef f():\n    import boto3\n    from django.conf import settings\n")
    names = [name for _, name in imported_roots(sample)]
    assert names == ["json", "boto3", "django"]
