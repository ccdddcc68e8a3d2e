"""The tasks' own retry policies, run for real: apply(), no patched apply_async, moto for AWS.

`task.apply()` runs the task through Celery's tracer: autoretry_for raises
Retry, apply() runs the retry again (countdown not waited for) up to
max_retries, and the task's on_failure handler runs when it gives up. What
apply() cannot show (acks_late, a worker killed mid-run) is tested with a real
worker process in tests/console/test_worker_killed.py.
"""

import pytest
from celery import signals

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


@pytest.fixture
def retries_seen():
    """Each retry Celery's own Retry handling makes: (task name, the error it retried on, its countdown)."""
    seen = []

    def on_retry(sender=None, request=None, reason=None, einfo=None, **kwargs):
        seen.append((sender.name, type(reason.exc).__name__ if getattr(reason, "exc", None) else "", reason.when))

    signals.task_retry.connect(on_retry, weak=False)
    yield seen
    signals.task_retry.disconnect(on_retry)


def test_a_config_upload_retries_on_its_own_backoff_policy(aws, site, retries_seen):
    aws.config_bucket_ensure()
    fail(aws.client("s3"), "PutObject", "SlowDown", status=503, times=3)
    result = tasks.revision_upload_task.apply(args=(site.revisions.get().pk,))
    assert result.get() == "uploaded"
    assert [name for name, _, _ in retries_seen] == [tasks.revision_upload_task.name] * 3
    assert {error for _, error, _ in retries_seen} == {"AwsTransientError"}
    # retry_backoff=2 with full jitter: the n-th retry waits at most 2 * 2**n seconds.
    assert all(0 <= when <= 2 * 2**n for n, (_, _, when) in enumerate(retries_seen))


def test_a_config_upload_that_fails_after_its_retries_is_left_pending_and_the_sweep_uploads_it(
    aws, site, settings, tasks_run_in_place
):
    aws.config_bucket_ensure()
    s3 = aws.client("s3")
    throttled = fail(s3, "PutObject", "SlowDown", status=503, times=tasks.revision_upload_task.max_retries + 1)
    revision = site.revisions.get()
    result = tasks.revision_upload_task.apply(args=(revision.pk,))
    assert result.failed() and throttled["failed"] == tasks.revision_upload_task.max_retries + 1
    revision.refresh_from_db()
    # The record the sweep looks for: pending, with why, never "uploaded".
    assert revision.upload_status == "pending" and revision.last_error.startswith("will retry")

    settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS = 0
    assert tasks.revisions_sweep.apply().get() == 1
    revision.refresh_from_db()
    assert revision.upload_status == "uploaded"
    assert s3.get_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key("demo.acme.example"))


def test_a_deployment_retries_on_its_own_policy_and_its_failure_handler_runs_once(aws, site, retries_seen, monkeypatch):
    deployment = provision(site)
    fail(aws.client("s3"), "CreateBucket", "SlowDown", status=503, times=100)
    calls = []
    real = tasks.provisioning.deployment_fail
    monkeypatch.setattr(tasks.provisioning, "deployment_fail", lambda **kwargs: (calls.append(kwargs), real(**kwargs)))
    tasks.deployment_run_task.apply(args=(deployment.pk,))
    assert len(retries_seen) == tasks.deployment_run_task.max_retries
    assert [call["deployment_id"] for call in calls] == [deployment.pk]
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.FAILED
