"""Provisioning a site, services called directly, against moto's server."""

import json

import pytest

from sites.models import ConfigRevision, Deployment, DeploymentStep, EdgeRelease, ProtectedSite
from sites.services.provisioning import deployment_run, site_bucket_name
from tests.console.aws_support import fail, record
from tests.console.provisioning_support import (  # noqa: F401
    aws,
    cloudfront_slow,
    counts,
    drive,
    kill_after,
    provision,
    upload_pending,
)

pytestmark = pytest.mark.django_db


def test_a_provisioned_site_is_live_with_bucket_distribution_policy_and_config(aws, site, alice, settings):
    sent = record(aws.client("cloudfront"))
    deployment = provision(site, alice)
    assert drive(deployment)[-1] == "done"

    site.refresh_from_db()
    assert site.status == ProtectedSite.Status.LIVE
    assert site.bucket_name == site_bucket_name(site) and site.bucket_name.startswith("gatehouse-site-")
    assert site.distribution_id and site.distribution_domain.endswith(".cloudfront.net")
    release = site.edge_release
    assert release.status == EdgeRelease.Status.PUBLISHED and release.version_arn.endswith(":1")

    create = sent.last("CreateDistribution").xml()
    assert create.find(".//LambdaFunctionARN").text == release.version_arn
    assert create.find(".//OriginAccessControlId").text == aws.oac_ensure(name=settings.GATEHOUSE_OAC_NAME)
    assert create.find("CallerReference").text == f"gatehouse:{site.bucket_name}"

    s3 = aws.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=site.bucket_name)["Policy"])
    arn = aws.distribution_get(site.distribution_id)["arn"]
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"AWS:SourceArn": arn}}

    for host in ("demo.acme.example", site.distribution_domain):
        doc = json.loads(s3.get_object(Bucket="gatehouse-config", Key=f"sites/{host}.json")["Body"].read())
        assert doc["site"]["distribution_id"] == site.distribution_id
        assert doc["site"]["hosts"] == ["demo.acme.example", site.distribution_domain]

    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.SUCCEEDED and deployment.started_by == alice
    steps = list(deployment.steps.values_list("name", "status"))
    assert [name for name, _ in steps] == [
        "Config bucket", "Site bucket", "Edge release", "CloudFront distribution", "Bucket policy", "Config", "Wait until deployed",
    ]
    assert {status for _, status in steps} == {"succeeded"}
    assert all(message for message in deployment.steps.values_list("message", flat=True))


def test_waiting_for_cloudfront_re_enqueues_instead_of_blocking(aws, site, cloudfront_slow, settings):
    settings.GATEHOUSE_PROVISION_POLL_SECONDS = 45
    cloudfront_slow(4)
    deployment = provision(site)
    states = drive(deployment)
    assert states[0] == "wait" and states[-1] == "done" and set(states[1:-1]) <= {"wait"}
    progress_messages = DeploymentStep.objects.get(deployment=deployment, name="Wait until deployed").message
    assert "deployed" in progress_messages


def test_the_wait_step_says_what_it_waits_for(aws, site, cloudfront_slow):
    cloudfront_slow(10)
    deployment = provision(site)
    progress = deployment_run(deployment_id=deployment.pk)
    assert progress.state == "wait" and progress.countdown > 0
    step = DeploymentStep.objects.get(deployment=deployment, name="Wait until deployed")
    assert step.status == "running" and "CloudFront is InProgress" in step.message
    assert "config revision" in step.message  # not uploaded yet either


def test_a_finished_deployment_delivered_again_does_nothing(aws, site):
    deployment = provision(site)
    drive(deployment)
    sent = record(aws.client("cloudfront")), record(aws.client("s3"))
    assert deployment_run(deployment_id=deployment.pk).state == "skipped"
    assert sent[0].requests == [] and sent[1].requests == []


def test_starting_twice_returns_the_running_provision(aws, site):
    first = provision(site)
    assert provision(site) == first
    assert Deployment.objects.filter(kind="provision").count() == 1


@pytest.mark.parametrize(
    "service,operation",
    [
        ("s3", "CreateBucket"),
        ("iam", "CreateRole"),
        ("kms", "CreateKey"),
        ("lambda", "CreateFunction"),
        ("lambda", "PublishVersion"),
        ("cloudfront", "CreateOriginAccessControl"),
        ("cloudfront", "CreateDistribution"),
        ("s3", "PutBucketPolicy"),
    ],
)
def test_a_worker_killed_mid_provision_finishes_on_the_next_run_without_duplicates(aws, site, service, operation):
    client = aws.client(service, region_name="us-east-1")
    killed = kill_after(client, operation)
    deployment = provision(site)
    with pytest.raises(killed):
        drive(deployment)
    # The redelivered task (or the same one after a restart) runs it again.
    assert drive(deployment)[-1] == "done"
    assert counts(aws) == {
        "distributions": 1, "oacs": 1, "buckets": 2, "functions": 1, "versions": 1, "keys": 1, "roles": 1,
    }
    site.refresh_from_db()
    assert site.status == "live"
    assert site.distribution_id == aws.client("cloudfront").list_distributions()["DistributionList"]["Items"][0]["Id"]


def test_provisioning_a_site_again_after_it_is_live_creates_nothing(aws, site):
    drive(provision(site))
    before = counts(aws)
    drive(provision(site))
    assert counts(aws) == before


def test_a_throttled_step_is_left_to_retry_and_says_so(aws, site):
    fail(aws.client("cloudfront"), "CreateDistribution", "Throttling", status=400)
    deployment = provision(site)
    with pytest.raises(aws.AwsTransientError):
        drive(deployment)
    step = DeploymentStep.objects.get(deployment=deployment, name="CloudFront distribution")
    assert step.status == "running" and "retrying" in step.message
    assert drive(deployment)[-1] == "done"


def test_aws_refusing_fails_the_deployment_and_the_site_with_a_readable_reason(aws, site):
    fail(aws.client("s3"), "CreateBucket", "AccessDenied", status=403, times=5, message="not allowed to create buckets")
    deployment = provision(site)
    assert drive(deployment) == ["failed"]
    deployment.refresh_from_db()
    site.refresh_from_db()
    assert deployment.status == "failed" and "not allowed to create buckets" in deployment.message
    assert site.status == "failed"
    step = deployment.steps.get(status="failed")
    assert "AccessDenied" in step.message
    assert counts(aws)["distributions"] == 0


def test_the_config_upload_failing_keeps_the_site_waiting_not_live(aws, site):
    deployment = provision(site)
    fail(aws.client("s3"), "PutObject", "InternalError", status=500, times=100)
    states = []
    for _ in range(3):
        states.append(deployment_run(deployment_id=deployment.pk).state)
        try:
            upload_pending()
        except aws.AwsTransientError:
            pass
    assert states[-1] == "wait"
    site.refresh_from_db()
    assert site.status == "provisioning"
    assert site.revisions.order_by("-number").first().upload_status == ConfigRevision.UploadStatus.PENDING
    aws.clients_reset()  # S3 works again
    from django.conf import settings as django_settings

    assert django_settings.GATEHOUSE_AWS_ENDPOINT_URL
    assert drive(deployment)[-1] == "done"


def _upload_held_by_the_task(site):
    """The revision upload task has claimed the newest revision and is still at it."""
    from django.utils import timezone

    site.revisions.filter(upload_status="pending").update(upload_status="uploading", upload_started_at=timezone.now())


def test_a_deployed_site_waiting_only_on_its_config_upload_looks_again_within_a_fraction_of_a_second(
    aws, site, cloudfront_slow
):
    """Issue 9, scale: save -> live was 1.29 s on moto, 1.04 s of it a fixed
    1-s re-poll once CloudFront was done and only the upload was pending."""
    cloudfront_slow(100)
    deployment = provision(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"  # at the last step, on CloudFront
    cloudfront_slow.deployed()
    _upload_held_by_the_task(site)  # which never finishes here
    for _ in range(3):
        progress = deployment_run(deployment_id=deployment.pk)
    step = DeploymentStep.objects.get(deployment=deployment, name="Wait until deployed")
    assert progress.state == "wait" and "CloudFront" not in step.message and "config revision" in step.message
    assert 0 < progress.countdown <= 0.25


def test_a_deployed_site_whose_config_is_still_pending_uploads_it_itself_and_is_live_in_one_run(aws, site):
    """Issue 9, scale: the live step used to wait for the upload task (a broker
    hop and a re-poll, about half of save -> live on moto); now it uploads the
    pending revision through the same service, and the task finds it done."""
    from sites.services.publishing import revision_upload

    sent = record(aws.client("s3"))
    deployment = provision(site)
    assert drive(deployment, uploads=False) == ["done"]  # no upload task ran
    site.refresh_from_db()
    assert site.status == ProtectedSite.Status.LIVE
    newest = site.revisions.order_by("-number").first()
    assert newest.upload_status == ConfigRevision.UploadStatus.UPLOADED and newest.attempts == 1
    def config_puts():
        return [r for r in sent.requests if r.operation == "PutObject" and r.params["Bucket"] == aws.config_bucket_name()]

    assert sorted(r.params["Key"] for r in config_puts()) == sorted(f"sites/{host}.json" for host in newest.hosts)
    # The upload task's message arrives afterwards and finds nothing to do.
    before = len(config_puts())
    assert revision_upload(revision_id=newest.pk).outcome == "skipped"
    assert len(config_puts()) == before


def test_the_live_step_leaves_a_config_to_the_upload_task_while_cloudfront_deploys_and_while_the_task_holds_it(
    aws, site, cloudfront_slow
):
    sent = record(aws.client("s3"))
    cloudfront_slow(100)
    deployment = provision(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"
    newest = site.revisions.order_by("-number").first()
    assert newest.upload_status == ConfigRevision.UploadStatus.PENDING  # CloudFront takes minutes: no hurry
    cloudfront_slow.deployed()
    _upload_held_by_the_task(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"
    newest.refresh_from_db()
    assert newest.upload_status == ConfigRevision.UploadStatus.UPLOADING and newest.attempts == 0
    assert not [r for r in sent.requests if r.operation == "PutObject" and r.params["Key"].endswith(".json")]


def test_s3_refusing_the_inline_upload_for_now_waits_the_full_poll_and_leaves_it_pending(aws, site, settings):
    settings.GATEHOUSE_PROVISION_POLL_SECONDS = 7
    fail(aws.client("s3"), "PutObject", "SlowDown", status=503, times=100)
    deployment = provision(site)
    progress = deployment_run(deployment_id=deployment.pk)
    assert progress.state == "wait" and progress.countdown == 7  # not a 0.2-s loop against a struggling S3
    newest = site.revisions.order_by("-number").first()
    assert newest.upload_status == ConfigRevision.UploadStatus.PENDING and "will retry" in newest.last_error


def test_an_upload_the_task_finishes_wakes_the_provision_waiting_only_on_it_and_not_one_waiting_on_cloudfront(
    aws, site, cloudfront_slow, sent_tasks, django_capture_on_commit_callbacks
):
    """Issue 9, scale: when the upload task claimed the revision first, the
    live step waited its countdown and a broker hop more; the task now sends
    the waiting provision on as soon as the upload is in S3."""
    from sites.enqueue import DEPLOYMENT_RUN
    from sites.services import publishing
    from sites.tasks import revision_upload_task

    cloudfront_slow(100)
    deployment = provision(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"
    newest = site.revisions.order_by("-number").first()
    with django_capture_on_commit_callbacks(execute=True):
        assert revision_upload_task(newest.pk) == "uploaded"
    assert sent_tasks.of(DEPLOYMENT_RUN) == []  # still waiting on CloudFront: its own poll, no second chain

    cloudfront_slow.deployed()
    revision = publishing.config_publish(site_id=site.pk, force=True, reason="changed while provisioning")
    _upload_held_by_the_task(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"
    # The task that held it gets to S3 (its claim, put back to replay it here).
    site.revisions.filter(pk=revision.pk).update(upload_status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        assert revision_upload_task(revision.pk) == "uploaded"
    assert sent_tasks.of(DEPLOYMENT_RUN) == [(deployment.pk,)]
    assert deployment_run(deployment_id=deployment.pk).state == "done"
    with django_capture_on_commit_callbacks(execute=True):
        assert revision_upload_task(revision.pk) == "skipped"
    assert len(sent_tasks.of(DEPLOYMENT_RUN)) == 1  # a finished provision is not woken


def test_an_upload_the_task_finishes_while_the_live_step_looks_is_seen_by_the_step_or_wakes_it(aws, site, monkeypatch):
    """The live step says it waits on the config before it looks the last
    time: an upload finishing between its first look and its Wait is caught by
    that last look (and the task's wake would find the message)."""
    from sites.services.provisioning import provision as module
    from sites.services.publishing import revision_upload

    deployment = provision(site)
    looks = []
    real = module._config_uploaded

    def config_uploaded(site_arg):
        step = DeploymentStep.objects.filter(deployment=deployment, name="Wait until deployed")
        looks.append(step.values_list("message", flat=True).first())
        if len(looks) == 1:  # first look: the task has just claimed it
            _upload_held_by_the_task(site_arg)
        found = real(site_arg)
        if len(looks) == 2:  # the inline try found it held, and so does this look; the task finishes now
            site_arg.revisions.filter(upload_status="uploading").update(upload_status="pending")
            newest = site_arg.revisions.order_by("-number").first()
            assert revision_upload(revision_id=newest.pk).outcome == "uploaded"
        return found

    monkeypatch.setattr(module, "_config_uploaded", config_uploaded)
    assert deployment_run(deployment_id=deployment.pk).state == "done"
    assert len(looks) == 3 and looks[2].startswith("waiting: config revision ")
