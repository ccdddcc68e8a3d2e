"""Tearing a site down, against moto's server."""

import pytest

from sites.models import Activity, Deployment, ProtectedSite
from sites.services.provisioning import deployment_run, site_teardown_start
from tests.console.aws_support import record
from tests.console.provisioning_support import aws, counts, drive, provision  # noqa: F401

pytestmark = pytest.mark.django_db


def test_teardown_removes_distribution_bucket_and_config_but_keeps_function_versions(aws, site, alice):
    drive(provision(site))
    site.refresh_from_db()
    domain, slug = site.distribution_domain, site.slug
    sent = record(aws.client("cloudfront"))
    deployment = site_teardown_start(site=site, actor=alice)
    assert ProtectedSite.objects.get(pk=site.pk).status == "deleting"
    assert drive(deployment)[-1] == "done"

    disable = sent.of("UpdateDistribution")[0].xml()
    assert disable.find("Enabled").text == "false"
    assert disable.find("DefaultCacheBehavior/LambdaFunctionAssociations/Quantity").text == "0"
    after = counts(aws)
    assert (after["distributions"], after["buckets"]) == (0, 1)  # only the config bucket is left
    assert (after["functions"], after["versions"]) == (1, 1)
    objects = aws.client("s3").list_objects_v2(Bucket="gatehouse-config").get("Contents", [])
    assert [o["Key"] for o in objects if domain in o["Key"] or "demo.acme.example" in o["Key"]] == []

    assert not ProtectedSite.objects.filter(pk=site.pk).exists()
    deployment.refresh_from_db()
    assert deployment.status == "succeeded" and deployment.site_slug == slug and deployment.site is None
    assert Activity.objects.filter(verb="site.deleted", site_slug=slug).exists()


def test_teardown_waits_for_cloudfront_to_disable_before_deleting(aws, site, monkeypatch):
    drive(provision(site))
    # moto never takes an updated distribution back to InProgress; real
    # CloudFront does for minutes after the disable.
    real_delete, answers = aws.distribution_delete, [False, False]
    monkeypatch.setattr(aws, "distribution_delete", lambda **kw: answers.pop(0) if answers else real_delete(**kw))
    deployment = site_teardown_start(site=site)
    first = deployment_run(deployment_id=deployment.pk)
    assert first.state == "wait" and first.countdown > 0
    assert "disabling" in deployment.steps.get(name="Delete distribution").message
    assert drive(deployment) == ["wait", "done"]
    assert counts(aws)["distributions"] == 0


def test_teardown_of_a_half_provisioned_site_removes_what_exists(aws, site):
    deployment = provision(site)
    # Provisioning got as far as the bucket, then the site was deleted.
    from sites.services.provisioning import provision as provisioning

    provisioning._site_bucket_step(site)
    teardown = site_teardown_start(site=site)
    assert drive(teardown)[-1] == "done"
    assert counts(aws)["buckets"] == 0
    deployment.refresh_from_db()
    # The provision that never finished does not bring the site back.
    assert deployment_run(deployment_id=deployment.pk).state in ("failed", "skipped")


def test_teardown_twice_is_one_teardown(aws, site):
    first = site_teardown_start(site=site)
    assert site_teardown_start(site=site) == first
    assert Deployment.objects.filter(kind="teardown").count() == 1


def test_a_distribution_created_but_never_recorded_is_found_and_deleted(aws, site):
    from tests.console.provisioning_support import kill_after

    killed = kill_after(aws.client("cloudfront"), "CreateDistribution")
    with pytest.raises(killed):
        drive(provision(site))
    site.refresh_from_db()
    assert site.distribution_id == "" and counts(aws)["distributions"] == 1
    assert drive(site_teardown_start(site=site))[-1] == "done"
    assert counts(aws)["distributions"] == 0 and counts(aws)["buckets"] == 1
