"""A deployment whose worker died is resumed by the beat sweep, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sites.models import Deployment
from sites.services.provisioning import deployments_sweep
from tests.console.provisioning_support import aws, counts, drive, kill_after, provision  # noqa: F401

pytestmark = pytest.mark.django_db


def age(deployment, seconds):
    past = timezone.now() - timedelta(seconds=seconds)
    Deployment.objects.filter(pk=deployment.pk).update(heartbeat_at=past, created_at=past)


def test_a_provision_whose_worker_died_is_resumed_and_finishes_without_duplicates(aws, site, sent_tasks, settings):
    killed = kill_after(aws.client("cloudfront"), "CreateDistribution")
    deployment = provision(site)
    with pytest.raises(killed):
        drive(deployment)
    # The dead worker's message never comes back (Redis would redeliver only
    # after its visibility timeout); the sweep finds the stale heartbeat.
    age(deployment, settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS + 60)
    sent_tasks.clear()
    assert deployments_sweep() == [deployment.pk]
    assert sent_tasks.of("sites.tasks.deployment_run_task") == [(deployment.pk,)]
    # A second sweep right after does not enqueue it again.
    assert deployments_sweep() == []
    assert drive(deployment)[-1] == "done"
    assert counts(aws)["distributions"] == 1
    site.refresh_from_db()
    assert site.status == "live"


def test_a_deployment_with_a_fresh_heartbeat_is_left_to_its_worker(aws, site, sent_tasks, settings):
    deployment = provision(site)
    age(deployment, settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS - 60)
    sent_tasks.clear()
    assert deployments_sweep() == []
    assert sent_tasks == []


def test_a_queued_deployment_whose_message_was_lost_is_started(aws, site, sent_tasks, settings):
    deployment = provision(site)
    Deployment.objects.filter(pk=deployment.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS + 1)
    )
    assert Deployment.objects.get(pk=deployment.pk).heartbeat_at is None
    assert deployments_sweep() == [deployment.pk]


def test_finished_deployments_are_never_resumed(aws, site, sent_tasks, settings):
    deployment = provision(site)
    drive(deployment)
    age(deployment, settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS + 60)
    assert deployments_sweep() == []
