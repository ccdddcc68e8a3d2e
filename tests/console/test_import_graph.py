"""Imports run one way: views -> services -> models / aws; tasks -> services; no circle.

The imports are read with ast in a separate `python -I` process: a
SystemError seen from ast.parse inside the test process on 3.11.7 cannot
touch it there, and nothing of the project is imported to read them.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READER = r'''
import ast, json, sys
from pathlib import Path

root = Path(sys.argv[1])
modules = {}
for path in sorted((root / "sites").rglob("*.py")):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if "migrations" in parts:
        continue
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    modules[".".join(parts)] = (path, is_package)

def resolve(name):
    # The longest known module that `name` is, or lies inside.
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name

graph = {}
for name, (path, is_package) in modules.items():
    package = name if is_package else name.rpartition(".")[0]
    for attempt in range(3):
        try:
            tree = ast.parse(path.read_text(), str(path))
            break
        except SystemError:
            if attempt == 2:
                raise
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base)
                prefix = f"{base}.{node.module}" if node.module else base
            else:
                prefix = node.module
            for alias in node.names:
                full = f"{prefix}.{alias.name}"
                targets.add(full if full in modules else prefix)
    graph[name] = sorted({resolve(t) or t for t in targets} - {name})
print(json.dumps(graph))
'''


def imports() -> dict[str, list[str]]:
    """Module -> the modules it imports (sites' own resolved to a module; others as written)."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", READER, str(ROOT)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def circles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_among_sites_modules():
    graph = imports()
    assert "sites.services.provisioning.engine" in graph and "sites.aws.s3" in graph
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]


def test_services_never_import_tasks_signals_forms_or_views():
    upward = ("sites.tasks", "sites.signals", "sites.forms", "sites.views", "sites.admin")
    below = ("sites.services", "sites.aws", "sites.models", "sites.rendering", "sites.archives", "sites.enqueue", "sites.selectors")
    wrong = {
        module: [t for t in targets if t.startswith(upward)]
        for module, targets in imports().items()
        if module.startswith(below)
    }
    assert {module: targets for module, targets in wrong.items() if targets} == {}


def test_only_the_aws_package_imports_boto3_and_it_imports_nothing_else_of_sites():
    graph = imports()
    boto = {m for m, targets in graph.items() if any(t.split(".")[0] in ("boto3", "botocore") for t in targets)}
    assert boto and all(m == "sites.aws" or m.startswith("sites.aws.") for m in boto)
    inside = {
        m: [t for t in targets if t.startswith("sites.") and not t.startswith("sites.aws")]
        for m, targets in graph.items()
        if m.startswith("sites.aws")
    }
    assert {m: t for m, t in inside.items() if t} == {}


def test_every_task_name_sites_enqueue_sends_is_a_registered_task():
    from celery import current_app

    from sites import enqueue

    registered = set(current_app.tasks.keys())
    assert set(enqueue.TASK_NAMES) <= registered
