"""The imports a Python file makes, read by `ast` in a child interpreter.

`ast.parse` in the test process itself fails now and then on CPython 3.11.7
with ``SystemError: AST constructor recursion depth mismatch``: the AST
constructor keeps its recursion counter in per-interpreter state, and another
thread (a traceback being formatted in a server thread parses source lines
with `ast` on 3.11) can reset it mid-parse (python/cpython#106905). A child
started with ``-I -S`` has no other threads, no site-packages and no
environment, so nothing else in the suite can disturb it.
"""

import json
import subprocess
import sys

_SCRIPT = r"""
import ast, json, sys

found = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    rows = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            rows += [[node.lineno, alias.name.split(".")[0], 0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            rows.append([node.lineno, (node.module or "").split(".")[0], node.level])
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                # Dynamic imports with a literal name are checked too.
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    rows.append([node.lineno, arg.value.split(".")[0], 0])
    found[path] = sorted(rows)
json.dump({"imports": found, "stdlib": sorted(sys.stdlib_module_names)}, sys.stdout)
"""


def scan(paths):
    """({path: [(line, top-level module, relative level)]}, stdlib module names).

    A relative import has level > 0 and the module name after the dots (or
    "" for ``from . import x``).
    """
    paths = [str(p) for p in paths]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _SCRIPT, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"the import scan failed:\n{result.stderr[-4000:]}")
    doc = json.loads(result.stdout)
    imports = {path: [tuple(row) for row in rows] for path, rows in doc["imports"].items()}
    return imports, frozenset(doc["stdlib"])
