"""The deployment engine: run a deployment through its workflow, resume stalled ones, give up for good.

`deployment_run` finds the workflow in RUNNERS by the deployment's kind;
each workflow is a module of its own in this package.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ... import enqueue
from ...context import chain
from ...models import Deployment, DeploymentStep
from .. import webhooks
from .build_upload import build_upload
from .edge_releases import edge_release_publish
from .provision import site_provision
from .redeploy import site_redeploy
from .steps import Kind, Progress, StepStatus, _finish, _site_failed
from .teardown import site_teardown

log = logging.getLogger(__name__)


def _edge_release(deployment: Deployment) -> Progress:
    # Without a site it publishes the release; with one it moves the site onto it.
    return site_redeploy(deployment) if deployment.site_id else edge_release_publish(deployment)


RUNNERS: dict[str, Callable[[Deployment], Progress]] = {
    Kind.PROVISION: site_provision,
    Kind.REDEPLOY: site_redeploy,
    Kind.EDGE_RELEASE: _edge_release,
    Kind.BUILD: build_upload,
    Kind.TEARDOWN: site_teardown,
}


def deployment_run(*, deployment_id: int) -> Progress:
    """Run (or resume) a deployment by its kind; "skipped" when it is finished or another run holds it."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    deployment = _begin(deployment_id, owner)
    if deployment is None:
        return Progress("skipped")
    try:
        # Its steps' rows (site.live, a config revision, …) join the action that started it.
        with chain(deployment.chain_id):
            return _dispatch(deployment)
    finally:
        # Let go at once (a wait's next message, a retry, may claim it); only
        # a run whose worker died leaves its lease to lapse.
        Deployment.objects.filter(pk=deployment_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def _dispatch(deployment: Deployment) -> Progress:
    if deployment.site_id is None and deployment.kind != Kind.EDGE_RELEASE:
        _finish(deployment, Deployment.Status.FAILED, "the site no longer exists")
        return Progress("failed")
    runner = RUNNERS.get(deployment.kind)
    if runner is None:
        _finish(deployment, Deployment.Status.FAILED, f"no service runs {deployment.kind} deployments")
        return Progress("failed")
    return runner(deployment)


def _begin(deployment_id: int, owner: str) -> Deployment | None:
    """Claim the deployment for this run; None if it is finished or another run holds its lease."""
    now = timezone.now()
    # The claim is the conditional UPDATE: of two deliveries at once (a
    # redelivered message, a sweep's resume) one gets the row, the other none.
    claimed = (
        Deployment.objects.filter(pk=deployment_id, status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + _lease(), heartbeat_at=now)
    )
    if not claimed:
        log.info("deployment %s is finished or held by another run: skipped", deployment_id)
        return None
    deployment = (
        Deployment.objects.select_related("site", "site__edge_release", "site__provider", "edge_release", "build")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None or deployment.status in (Deployment.Status.SUCCEEDED, Deployment.Status.FAILED):
        return None
    if deployment.status == Deployment.Status.QUEUED:
        started = Deployment.objects.filter(pk=deployment.pk, status=Deployment.Status.QUEUED).update(
            status=Deployment.Status.RUNNING, started_at=deployment.started_at or now
        )
        deployment.status, deployment.started_at = Deployment.Status.RUNNING, deployment.started_at or now
        if started:  # the run that moved it to running says so, once
            webhooks.deployment_started_emit(deployment)
    return deployment


def deployment_fail(*, deployment_id: int, message: str) -> None:
    """Called when a task gives up (retries exhausted, time limit): record it for a person."""
    deployment = Deployment.objects.select_related("site").filter(pk=deployment_id).first()
    if deployment is None or deployment.status in (Deployment.Status.SUCCEEDED, Deployment.Status.FAILED):
        return
    DeploymentStep.objects.filter(deployment=deployment, status=StepStatus.RUNNING).update(
        status=StepStatus.FAILED, finished_at=timezone.now(), message=message[:2000]
    )
    _finish(deployment, Deployment.Status.FAILED, message)
    with chain(deployment.chain_id):
        _site_failed(deployment, message)


def deployments_sweep() -> list[int]:
    """Resume unfinished deployments whose worker died or whose message was lost.

    Each is claimed with a conditional UPDATE of its heartbeat, so two sweeps
    (or a sweep and a late worker) never enqueue it twice.
    """
    now = timezone.now()
    cutoff = now - _lease()
    # A held lease means a run is working on it right now.
    unfinished = Deployment.objects.filter(status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING]).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    stale = unfinished.filter(heartbeat_at__lt=cutoff) | unfinished.filter(heartbeat_at=None, created_at__lt=cutoff)
    resumed = []
    for pk, heartbeat in stale.values_list("pk", "heartbeat_at"):
        claimed = Deployment.objects.filter(pk=pk, heartbeat_at=heartbeat).update(heartbeat_at=timezone.now())
        if claimed:
            enqueue.deployment_run(pk)
            resumed.append(pk)
    if resumed:
        log.warning("resumed %d deployment(s) whose worker stopped: %s", len(resumed), resumed)
    return resumed


def _lease() -> timedelta:
    # Longer than the task's hard time limit, so a live worker is never
    # second-guessed, and longer than any countdown a waiting run sets. The
    # broker's visibility timeout is set from it (console/settings.py).
    return timedelta(seconds=int(settings.GATEHOUSE_DEPLOYMENT_LEASE_SECONDS))
