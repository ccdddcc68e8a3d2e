"""An update writes over what CloudFront last answered, without reading first, and a change made
elsewhere is never written over (issue 9: the roll-out fan-out at >= 50 sites/s on moto).

moto accepts any IfMatch and keeps one ETag forever, so `cloudfront_etags` puts CloudFront's
check back on what boto3 sends: a new ETag per write, and 412 PreconditionFailed for a stale one.
"""

import pytest

from sites.models import DistributionSnapshot, ProtectedSite
from sites.services.provisioning import rollout_advance, rollout_start, site_redeploy_start
from tests.console.aws_support import cloudfront_etags, record
from tests.console.provisioning_support import aws, drive  # noqa: F401
from tests.console.test_rollout import NEWER_ARN, _newer, three_live_sites  # noqa: F401


@pytest.fixture
def etags(aws, settings):
    settings.GATEHOUSE_ROLLOUT_CONCURRENCY = 1  # aws_support.record is not thread-safe
    return cloudfront_etags(aws.client("cloudfront"))


@pytest.fixture
def live_sites(etags, three_live_sites):
    """test_rollout's three provisioned sites, with CloudFront's ETag check on from the start (etags first)."""
    return three_live_sites


def test_provisioning_keeps_what_cloudfront_answered(live_sites, etags):
    for s in live_sites:
        snapshot = DistributionSnapshot.objects.get(site=s)
        assert snapshot.distribution_id == s.distribution_id
        assert snapshot.etag == etags[s.distribution_id]
        assert snapshot.config["CallerReference"]


def test_a_rollout_sends_one_cloudfront_call_a_site(aws, live_sites, etags):
    """Fails on main: every site's config was read (GetDistributionConfig) before its update."""
    sent = record(aws.client("cloudfront"))
    rollout = rollout_start(release=_newer())
    assert rollout_advance(rollout_id=rollout.pk) == 0
    assert rollout.counts()["updated"] == 3
    assert not sent.of("GetDistributionConfig")
    updates = sent.of("UpdateDistribution")
    assert len(updates) == 3
    assert all(u.xml().find(".//LambdaFunctionARN").text == NEWER_ARN for u in updates)
    # The next update starts from this answer: the snapshot follows each write.
    for s in live_sites:
        assert DistributionSnapshot.objects.get(site=s).etag == etags[s.distribution_id]


def test_a_change_made_elsewhere_is_kept(aws, live_sites, etags):
    """Someone edits a distribution in the AWS console: CloudFront refuses the stale ETag, the
    update reads the config again, and the edit survives next to the new release."""
    cloudfront = aws.client("cloudfront")
    edited = live_sites[1]
    answer = cloudfront.get_distribution_config(Id=edited.distribution_id)
    config = answer["DistributionConfig"]
    config["PriceClass"] = "PriceClass_100"
    cloudfront.update_distribution(Id=edited.distribution_id, IfMatch=answer["ETag"], DistributionConfig=config)

    sent = record(cloudfront)
    rollout = rollout_start(release=_newer())
    assert rollout_advance(rollout_id=rollout.pk) == 0
    assert rollout.counts()["updated"] == 3
    assert [r.params["Id"] for r in sent.of("GetDistributionConfig")] == [edited.distribution_id]
    to_edited = [u for u in sent.of("UpdateDistribution") if u.params["Id"] == edited.distribution_id]
    assert len(to_edited) == 2  # refused with the stale ETag, then sent again after the read
    final = to_edited[-1].xml()
    assert final.find(".//PriceClass").text == "PriceClass_100"
    assert final.find(".//LambdaFunctionARN").text == NEWER_ARN
    assert DistributionSnapshot.objects.get(site=edited).etag == etags[edited.distribution_id]


def test_a_snapshot_of_another_distribution_is_not_used(aws, live_sites):
    DistributionSnapshot.objects.filter(site=live_sites[0]).update(distribution_id="EOTHER000000")
    sent = record(aws.client("cloudfront"))
    rollout = rollout_start(release=_newer())
    rollout_advance(rollout_id=rollout.pk)
    assert [r.params["Id"] for r in sent.of("GetDistributionConfig")] == [live_sites[0].distribution_id]
    assert DistributionSnapshot.objects.get(site=live_sites[0]).distribution_id == live_sites[0].distribution_id


def test_a_refused_update_leaves_the_snapshot_as_it_was(aws, live_sites):
    gone = live_sites[2]
    before = DistributionSnapshot.objects.get(site=gone)
    ProtectedSite.objects.filter(pk=gone.pk).update(distribution_id="EGONE0000000")
    DistributionSnapshot.objects.filter(site=gone).update(distribution_id="EGONE0000000")
    rollout = rollout_start(release=_newer())
    rollout_advance(rollout_id=rollout.pk)
    assert rollout.site_rows.get(site=gone).state == "failed"
    after = DistributionSnapshot.objects.get(site=gone)
    assert (after.etag, after.config) == (before.etag, before.config)


def test_a_redeploy_writes_over_the_snapshot_too(aws, live_sites, etags, alice):
    sent = record(aws.client("cloudfront"))
    drive(site_redeploy_start(site=live_sites[0], actor=alice))
    assert not sent.of("GetDistributionConfig")
    assert len(sent.of("UpdateDistribution")) == 1
    assert DistributionSnapshot.objects.get(site=live_sites[0]).etag == etags[live_sites[0].distribution_id]
