"""Each rule has one owner: host names, the edge function's site limit, the public origin, the settings."""

import ast
import pathlib

import pytest

from edge_runtime import store
from edge_runtime.config import is_host_name
from edge_runtime.settings import origin_for
from sites import aws
from sites.models import ProtectedSite, edge_public_origin
from sites.services import provisioning

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "scheme, port, expected",
    [("https", None, "https://demo.acme.example"), ("https", 443, "https://demo.acme.example"),
     ("http", 8080, "http://demo.acme.example:8080"), ("http", 80, "http://demo.acme.example"),
     ("https", 8443, "https://demo.acme.example:8443")],
)
def test_the_console_shows_the_origin_the_edge_sends(settings, scheme, port, expected):
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME, settings.GATEHOUSE_EDGE_PUBLIC_PORT = scheme, port
    assert ProtectedSite().public_origin("demo.acme.example") == expected
    # What the edge bakes in gives the edge the same address.
    assert origin_for("demo.acme.example", edge_public_origin()) == expected


@pytest.mark.parametrize("host", ["demo.acme.example", "a-b.c", "-x.example", "x..example", "é.example", "a" * 64 + ".example"])
def test_the_edge_store_reads_host_names_by_the_config_rule(host):
    assert (store.normalise_host(host) is not None) == is_host_name(host)


def test_the_site_limit_per_edge_function_is_lambda_edges_unless_set(settings):
    settings.GATEHOUSE_EDGE_SITES_PER_FUNCTION = None
    assert provisioning.sites_per_function() == aws.MAX_ASSOCIATIONS_PER_FUNCTION
    settings.GATEHOUSE_EDGE_SITES_PER_FUNCTION = 7
    assert provisioning.sites_per_function() == 7


def _python_files():
    for folder in ("sites", "console"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_settings_are_read_as_settings_x_never_with_a_default_of_their_own():
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "settings"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_every_gatehouse_setting_read_is_declared_once_in_console_settings():
    declared = []
    for node in ast.parse((ROOT / "console" / "settings.py").read_text()).body:
        if isinstance(node, ast.Assign):
            declared += [t.id for t in node.targets if isinstance(t, ast.Name)]
    assert len(declared) == len(set(declared)), "a setting is declared twice"
    read = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings"
                and node.attr.startswith("GATEHOUSE_")
            ):
                read.add(node.attr)
    assert read - set(declared) == set()
