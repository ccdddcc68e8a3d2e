"""The deployment engine's lower half: a Deployment row and its steps, recorded as they run.

A workflow is a list of (name, work) steps handed to `_run`. A step that
succeeded is not run again; one that must wait raises `Wait`, one that cannot
succeed raises `StepFailed`; `_run` turns that into a `Progress`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from edge_runtime.config import ConfigError

from ... import archives as build_files
from ... import aws, enqueue
from ...context import current_chain
from ...models import Activity, Build, Deployment, DeploymentStep, EdgeRelease, ProtectedSite
from .. import webhooks

log = logging.getLogger(__name__)

Kind = Deployment.Kind
StepStatus = DeploymentStep.Status
SiteStatus = ProtectedSite.Status


def _poll_seconds() -> int:
    return int(settings.GATEHOUSE_PROVISION_POLL_SECONDS)


def _deadline() -> timedelta:
    return timedelta(seconds=int(settings.GATEHOUSE_PROVISION_DEADLINE_SECONDS))


@dataclass(frozen=True)
class Progress:
    state: str  # "done", "wait", "failed", "skipped"
    countdown: int = 0
    message: str = ""


class Wait(Exception):
    """AWS is still working on it; come back in `countdown` seconds."""

    def __init__(self, message: str, countdown: float | None = None):
        super().__init__(message)
        self.countdown = countdown if countdown is not None else _poll_seconds()


class StepFailed(Exception):
    """A step cannot succeed by retrying; the message is for a person."""


def _deployment_create(*, kind: str, site=None, actor=None, **fields) -> Deployment:
    deployment = Deployment.objects.create(
        kind=kind,
        site=site,
        # Its runs record their rows in the chain that started it (the start functions open one).
        chain_id=current_chain(),
        started_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        **fields,
    )
    enqueue.deployment_run_on_commit(deployment.pk)
    return deployment


def _active(site: ProtectedSite, kind: str) -> Deployment | None:
    return (
        Deployment.objects.filter(site=site, kind=kind, status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING])
        .order_by("-created_at", "-pk")
        .first()
    )


def _finish(deployment: Deployment, status: str, message: str) -> None:
    finished = Deployment.objects.filter(pk=deployment.pk).exclude(
        status__in=[Deployment.Status.SUCCEEDED, Deployment.Status.FAILED]
    ).update(status=status, finished_at=timezone.now(), message=message[:2000])
    deployment.status, deployment.message = status, message
    if finished:  # only the run whose UPDATE finished it: succeeded or failed is said once
        webhooks.deployment_finished_emit(deployment)


def _site_failed(deployment: Deployment, message: str) -> None:
    if deployment.site_id and deployment.kind == Kind.PROVISION:
        ProtectedSite.objects.filter(pk=deployment.site_id, status=SiteStatus.PROVISIONING).update(status=SiteStatus.FAILED)
    if deployment.build_id and deployment.kind == Kind.BUILD:
        Build.objects.filter(pk=deployment.build_id).exclude(status=Build.Status.READY).update(
            status=Build.Status.FAILED, message=message[:2000]
        )
    if deployment.edge_release_id and deployment.kind == Kind.EDGE_RELEASE and not deployment.site_id:
        EdgeRelease.objects.filter(pk=deployment.edge_release_id).exclude(status=EdgeRelease.Status.PUBLISHED).update(
            status=EdgeRelease.Status.FAILED, message=message[:2000]
        )
    if deployment.site_id:
        Activity.record(verb=f"{deployment.kind}.failed", site=deployment.site, actor=deployment.started_by, detail=message[:500])


def _step(deployment: Deployment, order: int, name: str, work: Callable[[], str]) -> None:
    """Run one named step unless it already succeeded; record what happened."""
    step, _ = DeploymentStep.objects.get_or_create(deployment=deployment, name=name, defaults={"ordering": order})
    if step.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
        return
    DeploymentStep.objects.filter(pk=step.pk).update(
        status=StepStatus.RUNNING, started_at=step.started_at or timezone.now()
    )

    def record(status, message, finished=False):
        DeploymentStep.objects.filter(pk=step.pk).update(
            status=status, message=message[:2000], finished_at=timezone.now() if finished else None
        )

    try:
        message = work()
    except Wait as wait:
        record(StepStatus.RUNNING, str(wait))
        raise
    except aws.AwsTransientError as exc:
        record(StepStatus.RUNNING, f"AWS is busy or unreachable; retrying shortly ({exc})")
        raise
    except (aws.AwsError, StepFailed, build_files.BuildRefused) as exc:
        record(StepStatus.FAILED, str(exc), finished=True)
        raise StepFailed(f"{name}: {exc}") from exc
    except ConfigError as exc:
        text = "the config is not valid: " + "; ".join(exc.errors)
        record(StepStatus.FAILED, text, finished=True)
        raise StepFailed(f"{name}: {text}") from exc
    except Exception as exc:
        record(StepStatus.FAILED, f"unexpected error: {type(exc).__name__}: {exc}", finished=True)
        raise
    record(StepStatus.SUCCEEDED, message or "done", finished=True)


def _run(deployment: Deployment, steps: list[tuple[str, Callable[[], str]]], on_done: Callable[[], str]) -> Progress:
    try:
        for order, (name, work) in enumerate(steps, start=1):
            _step(deployment, order, name, work)
    except Wait as wait:
        Deployment.objects.filter(pk=deployment.pk).update(message=str(wait)[:2000])
        return Progress("wait", wait.countdown, str(wait))
    except StepFailed as exc:
        _finish(deployment, Deployment.Status.FAILED, str(exc))
        _site_failed(deployment, str(exc))
        log.warning("deployment %s (%s) failed: %s", deployment.pk, deployment.kind, exc)
        return Progress("failed", message=str(exc))
    message = on_done()
    _finish(deployment, Deployment.Status.SUCCEEDED, message)
    return Progress("done", message=message)


def _past_deadline(deployment: Deployment) -> bool:
    return bool(deployment.started_at) and timezone.now() - deployment.started_at > _deadline()


def _site(deployment: Deployment) -> ProtectedSite:
    site = ProtectedSite.objects.select_related("edge_release", "provider", "live_build").filter(pk=deployment.site_id).first()
    if site is None:
        raise StepFailed("the site no longer exists")
    return site
