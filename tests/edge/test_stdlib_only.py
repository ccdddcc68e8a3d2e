"""edge_runtime imports nothing but the standard library and itself.

The zip must stay under 1 MB and every import is paid at cold start; a stray
third-party import would also only fail at the edge, where it is not installed.
"""

import ast
from pathlib import Path

import pytest

from tests.edge.import_scan import scan

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "edge_runtime"
PACKAGE = PACKAGE_DIR.name
MODULES = sorted(PACKAGE_DIR.rglob("*.py"))


def imported_roots(path):
    """(line, top-level module) for every import in the file, nested ones included."""
    rows = scan([path])[0][str(path)]
    # Relative: inside the package by construction.
    return [(line, PACKAGE if level else name) for line, name, level in rows]


_scanned = {}


def package_imports():
    """Every module's imports, from one child interpreter for the whole package."""
    if not _scanned:
        imports, stdlib = scan(MODULES)
        _scanned.update(imports=imports, stdlib=stdlib)
    return _scanned["imports"], _scanned["stdlib"]


def test_there_are_modules_to_check():
    assert {p.name for p in MODULES} >= {"__init__.py", "settings.py", "sigv4.py", "store.py", "build.py", "gateway.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_every_import_is_standard_library_or_the_package(path):
    imports, stdlib = package_imports()
    allowed = set(stdlib) | {PACKAGE}
    roots = [(line, PACKAGE if level else name) for line, name, level in imports[str(path)]]
    outside = [f"{path.name}:{line} imports {name}" for line, name in roots if name not in allowed]
    assert not outside, outside


def test_the_checker_catches_a_third_party_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import json\ndef f():\n    import boto3\n    from django.conf import settings\n")
    names = [name for _, name in imported_roots(sample)]
    assert names == ["json", "boto3", "django"]


def test_the_check_does_not_parse_in_the_test_process(monkeypatch, tmp_path):
    # CPython 3.11.7's ast.parse fails now and then in a full run with
    # "SystemError: AST constructor recursion depth mismatch"; the check must
    # not depend on the test process's own parser state.
    def broken(*args, **kwargs):
        raise SystemError("AST constructor recursion depth mismatch (before=40, after=39)")

    monkeypatch.setattr(ast, "parse", broken)
    sample = tmp_path / "sample.py"
    sample.write_text("import json\nfrom . import store\n")
    assert imported_roots(sample) == [(1, "json"), (2, PACKAGE)]
