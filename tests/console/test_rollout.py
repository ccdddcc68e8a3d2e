"""Rolling an edge release out to every site: one row and one task from the request, batches in
the worker (against moto's server), and "done" when CloudFront says Deployed, checked by one sweep."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sites.models import Activity, Deployment, EdgeRelease, ProtectedSite, Rollout, RolloutSite
from sites.services.provisioning import rollout_advance, rollout_start, rollouts_sweep
from sites.services.sites import site_create
from tests.console.aws_support import record
from tests.console.pages_support import fast_passwords, staff_client  # noqa: F401
from tests.console.provisioning_support import aws, drive, provision  # noqa: F401

NEWER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:7"


def _newer():
    return EdgeRelease.objects.create(
        version="9.9.9-test", zip_sha256="0" * 64, function_name="gatehouse-edge",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge", version_arn=NEWER_ARN,
        status=EdgeRelease.Status.PUBLISHED, published_at=timezone.now(),
    )


def _in_progress_for(client, times):
    """moto's distributions stay Deployed after an update; CloudFront's go InProgress for minutes.
    The first `times` GetDistribution answers are set to InProgress on what boto3 parses."""
    left = {"n": times}

    def answer(parsed, **kwargs):
        if left["n"] > 0 and "Distribution" in parsed:
            left["n"] -= 1
            parsed["Distribution"]["Status"] = "InProgress"

    client.meta.events.register("after-call.cloudfront.GetDistribution", answer)


def test_the_post_records_one_rollout_and_sends_one_task(staff_client, provider, sent_tasks, django_capture_on_commit_callbacks):
    """Fails on main: the request made a Deployment (and a task) per site, 19 s at 6,666 sites."""
    release = EdgeRelease.objects.create(version="1.0-old", zip_sha256="a" * 64, status="published", version_arn="arn:old:1")
    newer = _newer()
    for i in range(30):
        ProtectedSite.objects.create(client="C", name=f"s{i}", slug=f"s{i}", provider=provider, allow_any_user=True,
                                     edge_release=newer if i == 0 else release, distribution_id=f"E{i}")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sites:release_rollout", args=[newer.pk]), {"scope": "all"})
    assert response.status_code == 302
    assert sent_tasks.names() == ["sites.tasks.rollout_advance_task"]
    assert Deployment.objects.count() == 0
    assert Rollout.objects.get().release == newer
    page = staff_client.get(reverse("sites:release", args=[newer.pk])).content.decode()
    assert 'data-rollout-status="running"' in page


@pytest.fixture
def three_live_sites(aws, site, provider):
    sites = [site]
    for slug in ("beta", "gamma"):
        sites.append(site_create(client="Beta", name=slug, slug=slug, hosts=[f"{slug}.example"], provider=provider, allow_any_user=True))
    for s in sites:
        drive(provision(s))
        s.refresh_from_db()
    return sites


def test_the_worker_moves_sites_in_batches_and_the_sweep_marks_each_deployed(aws, three_live_sites, alice, settings):
    settings.GATEHOUSE_ROLLOUT_BATCH_SIZE = 2
    settings.GATEHOUSE_ROLLOUT_CONCURRENCY = 1  # the request recorder (aws_support.record) is not thread-safe
    newer = _newer()
    cloudfront = aws.client("cloudfront")
    sent = record(cloudfront)
    rollout = rollout_start(release=newer, actor=alice)
    assert rollout_advance(rollout_id=rollout.pk) == 1  # one batch of two; one site left
    assert rollout_advance(rollout_id=rollout.pk) == 0
    updates = sent.of("UpdateDistribution")
    assert sorted(u.params["Id"] for u in updates) == sorted(s.distribution_id for s in three_live_sites)
    assert all(u.xml().find(".//LambdaFunctionARN").text == NEWER_ARN for u in updates)
    assert not sent.of("CreateInvalidation")  # a viewer-request function runs before the cache
    assert set(ProtectedSite.objects.values_list("edge_release", flat=True)) == {newer.pk}
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.APPLYING  # every update sent, none deployed yet

    _in_progress_for(cloudfront, times=2)
    assert rollouts_sweep() == 3
    assert rollout.counts()["deployed"] == 1 and rollout.counts()["updated"] == 2
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.APPLYING
    rollouts_sweep()
    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.DONE and rollout.counts()["deployed"] == 3
    done = Activity.objects.get(verb="edge_release.rollout_done")
    assert done.chain_id == rollout.chain_id and "3 deployed, 0 failed" in done.detail


def test_one_site_failing_does_not_stop_the_others(aws, three_live_sites):
    ProtectedSite.objects.filter(slug="beta").update(distribution_id="EGONE0000000")
    rollout = rollout_start(release=_newer())
    assert rollout_advance(rollout_id=rollout.pk) == 0
    states = dict(rollout.site_rows.values_list("site__slug", "state"))
    assert states == {"acme-demo": "updated", "beta": "failed", "gamma": "updated"}
    assert "EGONE0000000" in rollout.site_rows.get(site__slug="beta").message


def test_a_second_delivery_moves_nothing_twice(aws, three_live_sites, settings):
    settings.GATEHOUSE_ROLLOUT_CONCURRENCY = 1
    rollout = rollout_start(release=_newer())
    rollout_advance(rollout_id=rollout.pk)
    sent = record(aws.client("cloudfront"))
    assert rollout_advance(rollout_id=rollout.pk) == 0
    assert not sent.of("UpdateDistribution")
    assert rollout_start(release=rollout.release) == rollout  # one roll-out of a release at a time


def test_a_batch_whose_worker_died_is_handed_back(aws, three_live_sites, sent_tasks):
    rollout = rollout_start(release=_newer())
    rollout_advance(rollout_id=rollout.pk)
    RolloutSite.objects.filter(site__slug="gamma").update(state="updating", updated_at=timezone.now() - timedelta(hours=1))
    rollouts_sweep()
    assert rollout.site_rows.get(site__slug="gamma").state == "pending"
    assert sent_tasks.of("sites.tasks.rollout_advance_task") == [(rollout.pk,)]


def test_the_release_page_is_the_same_size_at_any_number_of_sites(staff_client, provider):
    """Fails on main: every other site was an <option> of one dropdown, every site on it a list item."""
    old = EdgeRelease.objects.create(version="1.0-old", zip_sha256="a" * 64, status="published", version_arn="arn:old:1")
    newer = _newer()
    for i in range(120):
        ProtectedSite.objects.create(client="C", name=f"s{i}", slug=f"s{i:03d}", provider=provider, allow_any_user=True,
                                     edge_release=newer if i < 60 else old)
    page = staff_client.get(reverse("sites:release", args=[newer.pk])).content.decode()
    assert "<option" not in page and '<input id="rollout-site" name="site"' in page
    assert "60 sites not on this release yet" in page
    assert page.count('<li><a href="/sites/') == 50 and "page 1 of 2 (60 sites)" in page
    second = staff_client.get(reverse("sites:release", args=[newer.pk]), {"page": 2}).content.decode()
    assert second.count('<li><a href="/sites/') == 10


def test_the_activity_log_says_a_roll_out_started_and_finished(staff_client, alice):
    Activity.record(verb="edge_release.rollout", actor=alice, detail="9.9.9-test")
    Activity.record(verb="edge_release.rollout_done", actor=alice, detail="9.9.9-test: 3 deployed, 0 failed")
    page = staff_client.get(reverse("sites:activity")).content.decode()
    assert "alice started rolling edge release 9.9.9-test out to every site" in page
    assert "Edge release 9.9.9-test is deployed on every site it was rolled out to" in page and "3 deployed, 0 failed" in page


def test_the_updates_of_a_batch_go_out_several_at_once(aws, three_live_sites, settings):
    settings.GATEHOUSE_ROLLOUT_CONCURRENCY = 3
    rollout = rollout_start(release=_newer())
    assert rollout_advance(rollout_id=rollout.pk) == 0
    assert rollout.counts()["updated"] == 3


@pytest.mark.parametrize("concurrency,pool", [(4, 10), (32, 32)])
def test_the_cloudfront_client_keeps_a_connection_for_each_roll_out_thread(aws, settings, concurrency, pool):
    """botocore keeps 10 connections a client; a roll-out past that opened and dropped one per call."""
    settings.GATEHOUSE_ROLLOUT_CONCURRENCY = concurrency
    aws.clients_reset()
    assert aws.client("cloudfront").meta.config.max_pool_connections == pool
    assert aws.client("s3").meta.config.max_pool_connections == 10
