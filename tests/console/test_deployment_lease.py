"""A deployment run is claimed with a lease (a conditional UPDATE): two deliveries never run its steps side by side."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sites.models import Deployment
from sites.services.provisioning import deployment_run, deployments_sweep
from tests.console.provisioning_support import aws, cloudfront_slow, counts, drive, provision  # noqa: F401

pytestmark = pytest.mark.django_db


def held_by_another_worker(deployment, *, seconds=600):
    # What a run in another worker process looks like from here: it claimed
    # the row and has not let go (it is still working, or it died).
    Deployment.objects.filter(pk=deployment.pk).update(
        lease_owner="other-host:4242:abc", lease_until=timezone.now() + timedelta(seconds=seconds), heartbeat_at=timezone.now()
    )


def test_a_delivery_while_another_run_holds_the_deployment_runs_no_step(aws, site, sent_tasks):
    deployment = provision(site)
    held_by_another_worker(deployment)
    assert deployment_run(deployment_id=deployment.pk).state == "skipped"
    assert deployment.steps.count() == 0
    assert counts(aws)["buckets"] == 0
    assert Deployment.objects.get(pk=deployment.pk).lease_owner == "other-host:4242:abc"


def test_a_lease_a_dead_worker_left_lapses_and_the_next_delivery_finishes_the_deployment(aws, site, sent_tasks):
    deployment = provision(site)
    held_by_another_worker(deployment, seconds=-1)
    assert drive(deployment)[-1] == "done"
    finished = Deployment.objects.get(pk=deployment.pk)
    assert (finished.status, finished.lease_owner, finished.lease_until) == ("succeeded", "", None)
    assert counts(aws)["distributions"] == 1


def test_a_run_lets_go_of_its_lease_when_it_waits(aws, site, sent_tasks, cloudfront_slow):
    cloudfront_slow(3)
    deployment = provision(site)
    assert deployment_run(deployment_id=deployment.pk).state == "wait"
    waiting = Deployment.objects.get(pk=deployment.pk)
    assert (waiting.lease_owner, waiting.lease_until) == ("", None)


def test_the_sweep_never_resumes_a_deployment_whose_lease_is_held(aws, site, sent_tasks, settings):
    deployment = provision(site)
    held_by_another_worker(deployment)
    old = timezone.now() - timedelta(seconds=settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS + 60)
    Deployment.objects.filter(pk=deployment.pk).update(heartbeat_at=old, created_at=old)
    sent_tasks.clear()
    assert deployments_sweep() == []
    assert sent_tasks == []


def test_the_deployment_task_is_put_back_when_its_worker_dies(settings):
    from sites import tasks

    assert tasks.deployment_run_task.acks_late and tasks.deployment_run_task.reject_on_worker_lost
    assert tasks.revision_upload_task.reject_on_worker_lost
    # The lease outlasts the task's hard time limit: a live run is never second-guessed.
    assert settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS > tasks.deployment_run_task.time_limit
