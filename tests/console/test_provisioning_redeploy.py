"""Redeploy and moving a site to another edge release, against moto's server."""

import pytest

from sites.models import DistributionSnapshot, EdgeRelease
from sites.services.provisioning import deployment_run, site_move_release, site_redeploy_start
from tests.console.aws_support import fail, record
from tests.console.provisioning_support import aws, drive, provision  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_site(aws, site):
    drive(provision(site))
    site.refresh_from_db()
    return site


def test_redeploy_re_applies_the_settings_with_the_pinned_release_and_invalidates(aws, live_site, alice, settings):
    cloudfront = aws.client("cloudfront")
    recorded = DistributionSnapshot.objects.get(site=live_site).etag
    sent = record(cloudfront)
    deployment = site_redeploy_start(site=live_site, actor=alice)
    assert drive(deployment) == ["done"]

    update = sent.last("UpdateDistribution")
    assert update.params["Id"] == live_site.distribution_id
    # Written over what CloudFront answered provisioning, without a read
    # (a stale ETag is refused and falls back to one: test_distribution_snapshots.py).
    assert not sent.of("GetDistributionConfig")
    assert update.params["IfMatch"] == recorded
    xml = update.xml()
    assert xml.find(".//LambdaFunctionARN").text == live_site.edge_release.version_arn
    assert xml.find(".//OriginAccessControlId").text == aws.oac_ensure(name=settings.GATEHOUSE_OAC_NAME)
    assert xml.find(".//ResponseHeadersPolicyId").text == aws.SECURITY_HEADERS_POLICY_ID
    batch = sent.last("CreateInvalidation").params["InvalidationBatch"]
    assert batch["Paths"]["Items"] == ["/*"]
    assert batch["CallerReference"] == f"gatehouse-deployment-{deployment.pk}"
    assert list(deployment.steps.values_list("name", flat=True)) == ["Config", "CloudFront settings", "Invalidate cache"]


def test_redeploy_survives_an_etag_conflict(aws, live_site):
    cloudfront = aws.client("cloudfront")
    sent = record(cloudfront)
    injected = fail(cloudfront, "UpdateDistribution", "PreconditionFailed", status=412)
    assert drive(site_redeploy_start(site=live_site)) == ["done"]
    assert injected["failed"] == 1
    # The first try writes over the snapshot; the refusal reads the config again.
    assert len(sent.of("GetDistributionConfig")) == 1 and len(sent.of("UpdateDistribution")) == 2


def test_redeploy_uploads_a_failed_revision_again(aws, live_site):
    newest = live_site.revisions.order_by("-number").first()
    type(newest).objects.filter(pk=newest.pk).update(upload_status="failed", last_error="boom")
    deployment = site_redeploy_start(site=live_site)
    drive(deployment)
    # The same content after a failed upload is published again as a new
    # revision (publishing.config_publish); the failed one is superseded.
    again = live_site.revisions.order_by("-number").first()
    assert again.number == newest.number + 1 and again.sha256 == newest.sha256
    assert again.upload_status == "uploaded"
    newest.refresh_from_db()
    assert newest.upload_status == "superseded"
    assert f"revision {again.number} made" in deployment.steps.get(name="Config").message


def test_redeploy_of_a_site_never_provisioned_fails_clearly(aws, site):
    deployment = site_redeploy_start(site=site)
    assert deployment_run(deployment_id=deployment.pk).state == "failed"
    deployment.refresh_from_db()
    assert "not provisioned" in deployment.message


def test_moving_to_another_release_pins_it_and_attaches_its_numbered_version(aws, live_site):
    newer = EdgeRelease.objects.create(
        version="9.9.9-test",
        zip_sha256="0" * 64,
        function_name="gatehouse-edge",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge",
        version_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:7",
        status=EdgeRelease.Status.PUBLISHED,
    )
    sent = record(aws.client("cloudfront"))
    deployment = site_move_release(site=live_site, release=newer)
    assert drive(deployment) == ["done"]
    live_site.refresh_from_db()
    assert live_site.edge_release == newer
    assert sent.last("UpdateDistribution").xml().find(".//LambdaFunctionARN").text.endswith(":7")


def test_an_unpublished_release_cannot_be_rolled_out(aws, live_site):
    draft = EdgeRelease.objects.create(version="draft", zip_sha256="1" * 64, status=EdgeRelease.Status.PUBLISHING)
    with pytest.raises(ValueError):
        site_move_release(site=live_site, release=draft)
