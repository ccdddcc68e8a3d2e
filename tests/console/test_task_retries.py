"""The tasks' own retry policies, run for real: eager apply(), no patched apply_async, moto for AWS."""

from sites import tasks
from sites.models import Deployment
from tests.console.aws_support import aws, fail  # noqa: F401
from tests.console.provisioning_support import provision


def test_a_config_upload_throttled_twice_lands_on_its_third_try(aws, site):
    aws.config_bucket_ensure()
    s3 = aws.client("s3")
    throttled = fail(s3, "PutObject", "SlowDown", status=503, times=2)
    revision = site.revisions.get()
    result = tasks.revision_upload_task.apply(args=(revision.pk,))
    assert result.successful() and result.get() == "uploaded"
    assert throttled["failed"] == 2
    revision.refresh_from_db()
    assert revision.upload_status == "uploaded" and revision.attempts == 3
    body = s3.get_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key("demo.acme.example"))["Body"].read()
    assert b'"id":"acme-demo"' in body


def test_a_deployment_that_aws_keeps_throttling_gives_up_after_its_retries_and_says_so(aws, site):
    deployment = provision(site)
    throttled = fail(aws.client("s3"), "CreateBucket", "SlowDown", status=503, times=100)
    result = tasks.deployment_run_task.apply(args=(deployment.pk,))
    assert result.failed()
    assert throttled["failed"] == tasks.deployment_run_task.max_retries + 1
    deployment.refresh_from_db()
    site.refresh_from_db()
    assert deployment.status == Deployment.Status.FAILED
    assert deployment.message.startswith("gave up: AwsTransientError")
    assert deployment.steps.get(name="Config bucket").status == "failed"
    assert site.status == "failed"


def test_a_deployment_throttled_once_carries_on_to_its_next_step(aws, site):
    deployment = provision(site)
    fail(aws.client("s3"), "CreateBucket", "SlowDown", status=503, times=1)
    tasks.deployment_run_task.apply(args=(deployment.pk,))
    assert deployment.steps.get(name="Config bucket").status == "succeeded"
