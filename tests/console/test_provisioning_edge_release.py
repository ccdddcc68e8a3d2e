"""Publishing edge releases and the 500-distributions-per-function limit, against moto."""

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from sites.models import EdgeRelease, ProtectedSite
from sites.services import provisioning
from sites.services.provisioning import deployment_run, edge_release_publish_start
from tests.console.provisioning_support import aws, counts, drive, provision  # noqa: F401
from tests.edge.zip_support import loaded_from_pyc, unpacked_imports

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_publishing_builds_the_zip_and_records_a_numbered_version(aws, alice, settings):
    deployment = edge_release_publish_start(actor=alice)
    release = deployment.edge_release
    assert release.status == "publishing" and len(release.zip_sha256) == 64
    assert drive(deployment) == ["done"]
    release.refresh_from_db()
    assert release.status == "published" and release.published_at
    assert aws.is_numbered_version_arn(release.version_arn)
    assert release.function_name == settings.GATEHOUSE_EDGE_FUNCTION_NAME

    code = aws.client("lambda", region_name="us-east-1").get_function(FunctionName=release.version_arn)
    assert code["Configuration"]["Handler"] == "edge_runtime.handler.handler"


def test_the_baked_settings_point_at_this_consoles_config_bucket(settings):
    data, sha_hex, _ = provisioning.edge_zip()
    baked = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("edge_runtime/edge_settings.json"))
    assert baked["config_bucket"] == settings.GATEHOUSE_CONFIG_BUCKET
    assert baked["config_prefix"] == settings.GATEHOUSE_CONFIG_PREFIX
    assert baked["endpoint_url"] == settings.GATEHOUSE_AWS_ENDPOINT_URL


def test_publishing_the_same_zip_again_reuses_the_release(aws):
    drive(edge_release_publish_start())
    assert edge_release_publish_start() is None
    assert EdgeRelease.objects.count() == 1 and counts(aws)["versions"] == 1


def test_a_function_lambda_is_still_updating_is_waited_for_by_re_enqueueing(aws, monkeypatch):
    deployment = edge_release_publish_start()
    real, answers = aws.edge_function_publish, [True]

    def busy(**kwargs):
        if answers:
            answers.pop()
            raise aws.EdgeFunctionNotReady("Pending/InProgress")
        return real(**kwargs)

    monkeypatch.setattr(aws, "edge_function_publish", busy)
    first = deployment_run(deployment_id=deployment.pk)
    assert first.state == "wait" and 0 < first.countdown <= 30
    assert drive(deployment) == ["done"]


def test_a_full_function_sends_new_sites_to_the_next_one(aws, site, provider, settings):
    settings.GATEHOUSE_EDGE_SITES_PER_FUNCTION = 1
    drive(provision(site))
    other = ProtectedSite.objects.create(client="Beta", name="Demo", slug="beta-demo", provider=provider)
    from sites.models import SessionKey

    SessionKey.generate(other).save()
    drive(provision(other))
    site.refresh_from_db()
    other.refresh_from_db()
    assert site.edge_release.function_name == "gatehouse-edge"
    assert other.edge_release.function_name == "gatehouse-edge-2"
    assert other.edge_release.zip_sha256 == site.edge_release.zip_sha256
    assert other.status == "live"


# --- the byte-code the published zip carries ------------------------------------------------


def test_the_published_zip_carries_byte_code_for_the_functions_runtime(aws, settings, tmp_path, caplog):
    # Fails on main: the console (CPython 3.11) built sources only for the
    # python3.12 runtime, which then compiled every module at each cold start.
    from edge_runtime import build

    assert settings.GATEHOUSE_EDGE_RUNTIME == "python3.12"
    with caplog.at_level("WARNING", logger="edge_runtime.build"):
        deployment = edge_release_publish_start()
        assert drive(deployment) == ["done"]
    release = deployment.edge_release
    release.refresh_from_db()
    data, sha_hex, sha_b64 = provisioning.edge_zip()
    lam = aws.client("lambda", region_name="us-east-1")
    assert release.zip_sha256 == sha_hex
    assert lam.get_function(FunctionName=release.version_arn)["Configuration"]["CodeSha256"] == sha_b64

    interpreter = build.find_interpreter("3.12")
    if interpreter is None:  # the documented fallback: sources only, and the log says so
        assert build.bytecode_tags(data) == []
        assert "no CPython 3.12 found" in caplog.text
        return
    assert build.bytecode_tags(data) == ["cpython-312"] and not caplog.text
    modules, bucket, trace = unpacked_imports(tmp_path, data, interpreter)
    assert bucket == settings.GATEHOUSE_CONFIG_BUCKET
    for module in modules:
        assert loaded_from_pyc(tmp_path, module, "cpython-312") in trace


def test_a_runtime_with_no_interpreter_here_gets_a_sources_only_zip_and_a_warning(settings, tmp_path, caplog):
    settings.GATEHOUSE_EDGE_RUNTIME = "python3.99"
    with caplog.at_level("WARNING", logger="edge_runtime.build"):
        data, _, _ = provisioning.edge_zip()
    assert "no CPython 3.99 found" in caplog.text and "sources only" in caplog.text
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "edge_runtime/handler.py" in names and not any(n.endswith(".pyc") for n in names)
    _, bucket, _ = unpacked_imports(tmp_path, data, sys.executable)  # still a working zip
    assert bucket == settings.GATEHOUSE_CONFIG_BUCKET


def test_the_edge_benchmark_times_the_zip_the_console_publishes():
    spec = importlib.util.spec_from_file_location("bench_edge", ROOT / "benchmarks" / "bench_edge.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data, runtime, _ = bench.published_zip()
    assert data == provisioning.edge_zip()[0] and runtime == "python3.12"
