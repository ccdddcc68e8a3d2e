"""Publishing edge releases and the 500-distributions-per-function limit, against moto."""

import io
import json
import zipfile

import pytest

from sites.models import EdgeRelease, ProtectedSite
from sites.services import provisioning
from sites.services.provisioning import deployment_run, edge_release_publish_start
from tests.console.provisioning_support import aws, counts, drive, provision  # noqa: F401

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
