"""The deployment task's own behaviour: retry policy, waiting, giving up."""

import pytest

from sites import tasks
from sites.models import Deployment, DeploymentStep
from sites.services import provisioning
from sites.services.provisioning import Progress


def test_the_task_is_late_acked_and_retries_only_transient_aws_errors_a_bounded_number_of_times():
    task = tasks.deployment_run_task
    assert task.acks_late is True
    assert task.autoretry_for == (tasks.aws.AwsTransientError,)
    assert task.retry_backoff and 0 < task.max_retries <= 10
    assert task.soft_time_limit < task.time_limit


def test_a_waiting_deployment_re_enqueues_itself_with_a_countdown(monkeypatch, sent_tasks):
    monkeypatch.setattr(provisioning, "deployment_run", lambda deployment_id: Progress("wait", 45, "CloudFront is InProgress"))
    calls = []
    monkeypatch.setattr(tasks.deployment_run_task, "apply_async", lambda args=None, kwargs=None, **options: calls.append((args, options)))
    assert tasks.deployment_run_task.run(7) == "wait"
    assert calls == [((7,), {"countdown": 45})]


def test_a_finished_deployment_is_not_enqueued_again(monkeypatch):
    monkeypatch.setattr(provisioning, "deployment_run", lambda deployment_id: Progress("done"))
    calls = []
    monkeypatch.setattr(tasks.deployment_run_task, "apply_async", lambda *a, **k: calls.append(a))
    assert tasks.deployment_run_task.run(7) == "done"
    assert calls == []


@pytest.mark.django_db
def test_giving_up_marks_the_deployment_its_running_step_and_the_site_failed(site):
    deployment = Deployment.objects.create(site=site, kind="provision", status="running")
    DeploymentStep.objects.create(deployment=deployment, name="CloudFront distribution", status="running")
    site.__class__.objects.filter(pk=site.pk).update(status="provisioning")
    tasks.deployment_run_task.on_failure(
        tasks.aws.AwsTransientError("Throttling"), "task-id", (deployment.pk,), {}, None
    )
    deployment.refresh_from_db()
    site.refresh_from_db()
    assert deployment.status == "failed" and "Throttling" in deployment.message
    assert deployment.steps.get().status == "failed"
    assert site.status == "failed"


@pytest.mark.django_db
def test_starting_enqueues_the_task_only_after_commit(site, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deployment = provisioning.site_provision_start(site=site)
    assert sent_tasks.of("sites.tasks.deployment_run_task") == []
    for callback in callbacks:
        callback()
    assert sent_tasks.of("sites.tasks.deployment_run_task") == [(deployment.pk,)]
    site.refresh_from_db()
    assert site.status == "provisioning"
