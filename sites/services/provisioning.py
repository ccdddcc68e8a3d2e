"""Provisioning: sites to AWS resources and back, one Deployment per run.

Each `*_start` service runs in a request: it records a Deployment and
enqueues its task on commit, and never calls AWS. The task runs
`deployment_run`, which calls the service for the deployment's kind.

Every run is safe to repeat from any point (a second delivery, a worker
killed half-way, a retry after a throttle):
- AWS names derive from the site (bucket name, CallerReference), and are
  written to the row before or right after the call that creates them, so a
  crash in between is recovered by looking the name up, never by creating a
  second resource;
- a step that succeeded is not run again; one that did not is re-run, and
  each step is idempotent on its own;
- nothing waits for AWS: a step that must wait raises `Wait`, the task
  re-enqueues itself with a countdown, and the next run resumes there.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from edge_runtime import __version__ as edge_version
from edge_runtime.config import CURRENT_SCHEMA_VERSION, ConfigError

from .. import aws
from ..models import (
    Activity,
    Build,
    ConfigRevision,
    Deployment,
    DeploymentStep,
    EdgeRelease,
    ProtectedSite,
)
from . import builds as build_files
from . import publishing

log = logging.getLogger(__name__)

Kind = Deployment.Kind
StepStatus = DeploymentStep.Status
SiteStatus = ProtectedSite.Status


def _poll_seconds() -> int:
    return int(getattr(settings, "GATEHOUSE_PROVISION_POLL_SECONDS", 30))


def _deadline() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "GATEHOUSE_PROVISION_DEADLINE_SECONDS", 3 * 3600)))


def _sites_per_function() -> int:
    return int(getattr(settings, "GATEHOUSE_EDGE_SITES_PER_FUNCTION", aws.MAX_ASSOCIATIONS_PER_FUNCTION))


@dataclass(frozen=True)
class Progress:
    state: str  # "done", "wait", "failed", "skipped"
    countdown: int = 0
    message: str = ""


class Wait(Exception):
    """AWS is still working on it; come back in `countdown` seconds."""

    def __init__(self, message: str, countdown: int | None = None):
        super().__init__(message)
        self.countdown = countdown if countdown is not None else _poll_seconds()


class StepFailed(Exception):
    """A step cannot succeed by retrying; the message is for a person."""


# --- names ------------------------------------------------------------------------


def site_bucket_name(site: ProtectedSite) -> str:
    """Deterministic from the site, so a crash after CreateBucket finds the same bucket."""
    prefix = getattr(settings, "GATEHOUSE_SITE_BUCKET_PREFIX", "gatehouse-site-")
    slug = re.sub(r"[^a-z0-9-]+", "-", site.slug.lower()).strip("-")
    return f"{prefix}{site.pk}-{slug}"[:63].rstrip("-.")


def site_caller_reference(site: ProtectedSite) -> str:
    # The bucket name carries the environment's prefix and the site id, so
    # two consoles sharing an account never adopt each other's distribution.
    return f"gatehouse:{site_bucket_name(site)}"


def edge_settings() -> dict:
    """What the edge function bakes in (docs/edge-config.md, "Settings of the function itself")."""
    doc = {
        "config_bucket": aws.config_bucket_name(),
        "config_prefix": aws.config_prefix(),
        "config_region": aws.region(),
        "endpoint_url": getattr(settings, "GATEHOUSE_AWS_ENDPOINT_URL", None) or None,
    }
    scheme = getattr(settings, "GATEHOUSE_EDGE_PUBLIC_SCHEME", "https")
    port = getattr(settings, "GATEHOUSE_EDGE_PUBLIC_PORT", None)
    if scheme != "https" or (port and port != 443):
        doc["public_origin"] = {"scheme": scheme, **({"port": port} if port else {})}
    return doc


def edge_zip() -> tuple[bytes, str, str]:
    """The edge function's zip for this console's settings: (bytes, sha256 hex, sha256 base64)."""
    from edge_runtime.build import build_zip

    runtime, interpreter = settings.GATEHOUSE_EDGE_RUNTIME, settings.GATEHOUSE_EDGE_BUILD_PYTHON or None
    data = build_zip(settings=edge_settings(), python=runtime, interpreter=interpreter)  # byte-code for the runtime
    digest = hashlib.sha256(data).digest()
    return data, digest.hex(), base64.b64encode(digest).decode()


# --- deployments and steps ------------------------------------------------------------


def _deployment_create(*, kind: str, site=None, actor=None, **fields) -> Deployment:
    from ..tasks import deployment_run_task

    deployment = Deployment.objects.create(
        kind=kind,
        site=site,
        started_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        **fields,
    )
    deployment_run_task.delay_on_commit(deployment.pk)
    return deployment


def _active(site: ProtectedSite, kind: str) -> Deployment | None:
    return (
        Deployment.objects.filter(site=site, kind=kind, status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING])
        .order_by("-created_at", "-pk")
        .first()
    )


def _begin(deployment_id: int) -> Deployment | None:
    """The deployment to work on, or None if it is finished (a second delivery)."""
    deployment = (
        Deployment.objects.select_related("site", "site__edge_release", "site__provider", "edge_release", "build")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None or deployment.status in (Deployment.Status.SUCCEEDED, Deployment.Status.FAILED):
        return None
    now = timezone.now()
    if deployment.status == Deployment.Status.QUEUED:
        Deployment.objects.filter(pk=deployment.pk, status=Deployment.Status.QUEUED).update(
            status=Deployment.Status.RUNNING, started_at=deployment.started_at or now, heartbeat_at=now
        )
        deployment.status, deployment.started_at = Deployment.Status.RUNNING, deployment.started_at or now
    else:
        Deployment.objects.filter(pk=deployment.pk).update(heartbeat_at=now)
    deployment.heartbeat_at = now
    return deployment


def _lease() -> timedelta:
    # Longer than the task's hard time limit, so a live worker is never
    # second-guessed, and longer than any countdown a waiting run sets.
    return timedelta(seconds=int(getattr(settings, "GATEHOUSE_DEPLOYMENT_LEASE_SECONDS", 1800)))


def deployments_sweep() -> list[int]:
    """Resume unfinished deployments whose worker died or whose message was lost.

    Each is claimed with a conditional UPDATE of its heartbeat, so two sweeps
    (or a sweep and a late worker) never enqueue it twice.
    """
    from ..tasks import deployment_run_task

    cutoff = timezone.now() - _lease()
    unfinished = Deployment.objects.filter(status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING])
    stale = unfinished.filter(heartbeat_at__lt=cutoff) | unfinished.filter(heartbeat_at=None, created_at__lt=cutoff)
    resumed = []
    for pk, heartbeat in stale.values_list("pk", "heartbeat_at"):
        claimed = Deployment.objects.filter(pk=pk, heartbeat_at=heartbeat).update(heartbeat_at=timezone.now())
        if claimed:
            deployment_run_task.delay(pk)
            resumed.append(pk)
    if resumed:
        log.warning("resumed %d deployment(s) whose worker stopped: %s", len(resumed), resumed)
    return resumed


def _finish(deployment: Deployment, status: str, message: str) -> None:
    Deployment.objects.filter(pk=deployment.pk).exclude(
        status__in=[Deployment.Status.SUCCEEDED, Deployment.Status.FAILED]
    ).update(status=status, finished_at=timezone.now(), message=message[:2000])
    deployment.status, deployment.message = status, message


def deployment_fail(*, deployment_id: int, message: str) -> None:
    """Called when a task gives up (retries exhausted, time limit): record it for a person."""
    deployment = Deployment.objects.select_related("site").filter(pk=deployment_id).first()
    if deployment is None or deployment.status in (Deployment.Status.SUCCEEDED, Deployment.Status.FAILED):
        return
    DeploymentStep.objects.filter(deployment=deployment, status=StepStatus.RUNNING).update(
        status=StepStatus.FAILED, finished_at=timezone.now(), message=message[:2000]
    )
    _finish(deployment, Deployment.Status.FAILED, message)
    _site_failed(deployment, message)


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


def deployment_run(*, deployment_id: int) -> Progress:
    """Run (or resume) a deployment by its kind."""
    deployment = _begin(deployment_id)
    if deployment is None:
        return Progress("skipped")
    if deployment.site_id is None and deployment.kind != Kind.EDGE_RELEASE:
        _finish(deployment, Deployment.Status.FAILED, "the site no longer exists")
        return Progress("failed")
    if deployment.kind == Kind.PROVISION:
        return site_provision(deployment)
    if deployment.kind == Kind.REDEPLOY:
        return site_redeploy(deployment)
    if deployment.kind == Kind.EDGE_RELEASE:
        return site_redeploy(deployment) if deployment.site_id else edge_release_publish(deployment)
    if deployment.kind == Kind.BUILD:
        return build_upload(deployment)
    if deployment.kind == Kind.TEARDOWN:
        return site_teardown(deployment)
    _finish(deployment, Deployment.Status.FAILED, f"no service runs {deployment.kind} deployments")
    return Progress("failed")


# --- edge releases ----------------------------------------------------------------------


def _function_index_with_room() -> int:
    counts = dict(
        ProtectedSite.objects.exclude(edge_release=None)
        .values("edge_release__function_name")
        .annotate(n=Count("pk"))
        .values_list("edge_release__function_name", "n")
    )
    index = 0
    while counts.get(aws.function_name_for_index(index), 0) >= _sites_per_function():
        index += 1
    return index


def _release_version(sha_hex: str, function_index: int) -> str:
    suffix = f"-f{function_index + 1}" if function_index else ""
    return f"{edge_version}-{sha_hex[:12]}{suffix}"


def _release_for(sha_hex: str, size: int, function_index: int, actor=None) -> tuple[EdgeRelease, bool]:
    function_name = aws.function_name_for_index(function_index)
    return EdgeRelease.objects.get_or_create(
        version=_release_version(sha_hex, function_index),
        defaults={
            "zip_sha256": sha_hex,
            "zip_size": size,
            "schema_version": CURRENT_SCHEMA_VERSION,
            "function_name": function_name,
            "status": EdgeRelease.Status.PUBLISHING,
            "created_by": actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        },
    )


def _release_push(release: EdgeRelease) -> bool:
    """Publish `release` to Lambda; False while Lambda is still busy with the function."""
    if release.status == EdgeRelease.Status.PUBLISHED and release.version_arn:
        return True
    data, sha_hex, sha_b64 = edge_zip()
    if sha_hex != release.zip_sha256:
        raise StepFailed(
            f"this worker builds a different zip ({sha_hex[:12]}) than release {release.version}; "
            "the code or the edge settings changed since: publish a new release"
        )
    try:
        published = aws.edge_function_publish(zip_bytes=data, sha256_b64=sha_b64, function_name=release.function_name)
    except aws.EdgeFunctionNotReady:
        return False
    EdgeRelease.objects.filter(pk=release.pk).update(
        function_arn=published.function_arn,
        version_arn=published.version_arn,
        status=EdgeRelease.Status.PUBLISHED,
        published_at=release.published_at or timezone.now(),
        message=f"version {published.version} of {release.function_name}",
    )
    release.refresh_from_db()
    return True


def edge_release_publish_start(*, actor=None) -> Deployment | None:
    """Build the edge zip and start publishing it; None when that exact zip is already published."""
    data, sha_hex, _ = edge_zip()
    published = EdgeRelease.objects.filter(
        zip_sha256=sha_hex, function_name=aws.function_name_for_index(0), status=EdgeRelease.Status.PUBLISHED
    ).first()
    if published is not None:
        Activity.record(verb="edge_release.reused", actor=actor, detail=f"{published.version}: same zip already published")
        return None
    with transaction.atomic():
        release, _ = _release_for(sha_hex, len(data), 0, actor)
        if release.status == EdgeRelease.Status.FAILED:
            EdgeRelease.objects.filter(pk=release.pk).update(status=EdgeRelease.Status.PUBLISHING, message="")
        Activity.record(verb="edge_release.publish", actor=actor, detail=release.version)
        return _deployment_create(kind=Kind.EDGE_RELEASE, edge_release=release, actor=actor)


def edge_release_publish(deployment: Deployment) -> Progress:
    release = deployment.edge_release
    if release is None:
        _finish(deployment, Deployment.Status.FAILED, "the release row is gone")
        return Progress("failed")

    def role() -> str:
        aws.config_bucket_ensure()
        return f"role {aws.edge_role_ensure()}"

    def publish() -> str:
        if not _release_push(release):
            raise Wait(f"Lambda is still creating or updating {release.function_name}", countdown=10)
        return f"{release.version_arn}"

    def done() -> str:
        Activity.record(verb="edge_release.published", actor=deployment.started_by, detail=release.version_arn)
        return f"published {release.version} as {release.version_arn}"

    return _run(deployment, [("Config bucket and edge role", role), ("Publish function version", publish)], done)


# --- provision ------------------------------------------------------------------------------


def site_provision_start(*, site: ProtectedSite, actor=None) -> Deployment:
    """Start (or return the running) provisioning of `site`."""
    with transaction.atomic():
        running = _active(site, Kind.PROVISION)
        if running is not None:
            return running
        ProtectedSite.objects.filter(pk=site.pk).exclude(status=SiteStatus.DELETING).update(status=SiteStatus.PROVISIONING)
        Activity.record(verb="site.provision", site=site, actor=actor)
        return _deployment_create(kind=Kind.PROVISION, site=site, actor=actor)


def _config_bucket_step() -> str:
    key_arn = aws.config_bucket_ensure()
    return f"{aws.config_bucket_name()} (SSE-KMS {key_arn.rsplit('/', 1)[-1]})"


def _site_bucket_step(site: ProtectedSite) -> str:
    name = site_bucket_name(site)
    if site.bucket_name and site.bucket_name != name:
        name = site.bucket_name  # named by an earlier scheme: keep what AWS has
    # Recorded before the create: a crash right after it still leaves the
    # name in the database, and ensuring it again is harmless.
    ProtectedSite.objects.filter(pk=site.pk).update(bucket_name=name)
    site.bucket_name = name
    aws.site_bucket_ensure(name=name)
    return name


def _site_release_step(site: ProtectedSite, deployment: Deployment) -> str:
    release = site.edge_release
    if release is None or release.status != EdgeRelease.Status.PUBLISHED:
        if release is None:
            data, sha_hex, _ = edge_zip()
            index = _function_index_with_room()
            release = (
                EdgeRelease.objects.filter(
                    zip_sha256=sha_hex,
                    function_name=aws.function_name_for_index(index),
                    status=EdgeRelease.Status.PUBLISHED,
                ).first()
                or _release_for(sha_hex, len(data), index, deployment.started_by)[0]
            )
            # Pinned now, so the next run (after a Wait) carries on with it.
            ProtectedSite.objects.filter(pk=site.pk).update(edge_release=release)
            site.edge_release = release
        if not _release_push(release):
            raise Wait(f"Lambda is still creating or updating {release.function_name}", countdown=10)
    return f"{release.version} ({release.version_arn})"


def _distribution_step(site: ProtectedSite) -> str:
    if site.distribution_id:
        found = aws.distribution_get(site.distribution_id)
        if found is None:
            raise StepFailed(f"distribution {site.distribution_id} is recorded but does not exist in CloudFront")
        return f"{found['id']} ({found['domain']}), already created"
    release = site.edge_release
    result = aws.distribution_ensure(
        caller_reference=site_caller_reference(site),
        comment=f"Gatehouse {site.slug}",
        bucket_name=site.bucket_name,
        oac_id=aws.oac_ensure(name=getattr(settings, "GATEHOUSE_OAC_NAME", "gatehouse-oac")),
        aliases=site.hosts,
        certificate_arn=site.acm_certificate_arn or None,
        edge_version_arn=release.version_arn,
    )
    # Straight into the row: .update(), not save(), so no config revision
    # is made half-way; the config step publishes once, knowingly.
    ProtectedSite.objects.filter(pk=site.pk).update(distribution_id=result["id"], distribution_domain=result["domain"])
    site.distribution_id, site.distribution_domain = result["id"], result["domain"]
    return f"{result['id']} ({result['domain']}){'' if result['created'] else ', found by its caller reference'}"


def _bucket_policy_step(site: ProtectedSite) -> str:
    found = aws.distribution_get(site.distribution_id)
    if found is None:
        raise StepFailed(f"distribution {site.distribution_id} does not exist")
    aws.site_bucket_policy_put(name=site.bucket_name, distribution_arn=found["arn"])
    return f"only {found['arn']} may read {site.bucket_name}"


def _config_step(site: ProtectedSite, deployment: Deployment, reason: str) -> str:
    from ..tasks import revision_upload_task

    revision = publishing.config_publish(site_id=site.pk, actor=deployment.started_by, reason=reason)
    if revision is not None:
        return f"revision {revision.number} made; uploading"
    newest = site.revisions.order_by("-number").first()
    if newest is None:
        raise StepFailed("the site has no config revision")
    if newest.upload_status in (ConfigRevision.UploadStatus.PENDING, ConfigRevision.UploadStatus.FAILED):
        ConfigRevision.objects.filter(pk=newest.pk, upload_status=ConfigRevision.UploadStatus.FAILED).update(
            upload_status=ConfigRevision.UploadStatus.PENDING
        )
        revision_upload_task.delay_on_commit(newest.pk)
        return f"revision {newest.number} unchanged; uploading again"
    return f"revision {newest.number} unchanged ({newest.upload_status})"


def _config_uploaded(site: ProtectedSite) -> str | None:
    """None once the newest revision is in S3; otherwise why not yet. StepFailed if it cannot land."""
    newest = site.revisions.order_by("-number").first()
    if newest is None:
        return "no revision yet"
    if newest.upload_status == ConfigRevision.UploadStatus.UPLOADED:
        return None
    if newest.upload_status == ConfigRevision.UploadStatus.FAILED:
        raise StepFailed(f"config revision {newest.number} could not be uploaded: {newest.last_error}")
    return f"config revision {newest.number} is {newest.upload_status}"


def _live_step(site: ProtectedSite, deployment: Deployment) -> str:
    status = aws.distribution_status(site.distribution_id)
    if status is None:
        raise StepFailed(f"distribution {site.distribution_id} disappeared")
    pending = [] if status == "Deployed" else [f"CloudFront is {status}"]
    config = _config_uploaded(site)
    if config:
        pending.append(config)
    if pending:
        if _past_deadline(deployment):
            raise StepFailed("gave up waiting: " + "; ".join(pending))
        # An upload takes about a tenth of a second; CloudFront takes minutes.
        # Only the latter deserves the full poll interval.
        countdown = 1 if status == "Deployed" else None
        raise Wait("waiting: " + "; ".join(pending), countdown=countdown)
    return f"{site.distribution_domain} is deployed"


def site_provision(deployment: Deployment) -> Progress:
    site = _site(deployment)
    if site.status == SiteStatus.DELETING:
        _finish(deployment, Deployment.Status.FAILED, "the site is being deleted")
        return Progress("failed")
    if site.status not in (SiteStatus.PROVISIONING, SiteStatus.LIVE):
        ProtectedSite.objects.filter(pk=site.pk).update(status=SiteStatus.PROVISIONING)

    def done() -> str:
        ProtectedSite.objects.filter(pk=site.pk, status=SiteStatus.PROVISIONING).update(status=SiteStatus.LIVE)
        Activity.record(verb="site.live", site=site, actor=deployment.started_by, detail=site.distribution_domain)
        return f"live at {site.distribution_domain}"

    return _run(
        deployment,
        [
            ("Config bucket", _config_bucket_step),
            ("Site bucket", lambda: _site_bucket_step(site)),
            ("Edge release", lambda: _site_release_step(site, deployment)),
            ("CloudFront distribution", lambda: _distribution_step(site)),
            ("Bucket policy", lambda: _bucket_policy_step(site)),
            ("Config", lambda: _config_step(site, deployment, "distribution created")),
            ("Wait until deployed", lambda: _live_step(site, deployment)),
        ],
        done,
    )


# --- redeploy and moving to another release --------------------------------------------------------


def site_redeploy_start(*, site: ProtectedSite, actor=None) -> Deployment:
    with transaction.atomic():
        Activity.record(verb="site.redeploy", site=site, actor=actor)
        return _deployment_create(kind=Kind.REDEPLOY, site=site, actor=actor)


def site_move_release(*, site: ProtectedSite, release: EdgeRelease, actor=None) -> Deployment:
    """Pin `site` to another published release and roll the distribution onto it."""
    if release.status != EdgeRelease.Status.PUBLISHED or not release.version_arn:
        raise ValueError(f"release {release.version} is not published")
    with transaction.atomic():
        Activity.record(verb="site.move_release", site=site, actor=actor, detail=release.version)
        return _deployment_create(kind=Kind.EDGE_RELEASE, site=site, edge_release=release, actor=actor)


def edge_release_rollout_start(*, release: EdgeRelease, sites, actor=None) -> list[Deployment]:
    return [site_move_release(site=site, release=release, actor=actor) for site in sites]


def _apply_settings_step(site: ProtectedSite) -> str:
    release = site.edge_release
    if release is None or not release.version_arn:
        raise StepFailed("the site has no published edge release")
    oac_id = aws.oac_ensure(name=getattr(settings, "GATEHOUSE_OAC_NAME", "gatehouse-oac"))

    def mutate(config: dict) -> None:
        aws.distribution_settings_apply(
            config,
            bucket_name=site.bucket_name,
            oac_id=oac_id,
            aliases=site.hosts,
            certificate_arn=site.acm_certificate_arn or None,
            edge_version_arn=release.version_arn,
        )

    aws.distribution_update(distribution_id=site.distribution_id, mutate=mutate)
    return f"settings re-applied with {release.version_arn}"


def site_redeploy(deployment: Deployment) -> Progress:
    site = _site(deployment)
    if not site.distribution_id or not site.bucket_name:
        _finish(deployment, Deployment.Status.FAILED, "the site is not provisioned yet")
        return Progress("failed")
    if site.status == SiteStatus.DELETING:
        _finish(deployment, Deployment.Status.FAILED, "the site is being deleted")
        return Progress("failed")
    steps: list[tuple[str, Callable[[], str]]] = []
    if deployment.kind == Kind.EDGE_RELEASE and deployment.edge_release_id:
        target = deployment.edge_release

        def pin() -> str:
            # The config's schema version follows the release: pin first.
            ProtectedSite.objects.filter(pk=site.pk).update(edge_release=target)
            site.edge_release = target
            return target.version

        steps.append(("Pin edge release", pin))
    steps += [
        ("Config", lambda: _config_step(site, deployment, "redeployed")),
        ("CloudFront settings", lambda: _apply_settings_step(site)),
        (
            "Invalidate cache",
            lambda: "invalidation "
            + aws.invalidation_create(
                distribution_id=site.distribution_id, paths=["/*"], caller_reference=f"gatehouse-deployment-{deployment.pk}"
            ),
        ),
    ]

    def done() -> str:
        Activity.record(verb=f"{deployment.kind}.done", site=site, actor=deployment.started_by)
        return "CloudFront is applying the settings (a few minutes)"

    return _run(deployment, steps, done)


# --- builds ----------------------------------------------------------------------------------------


def build_upload_start(*, site: ProtectedSite, staged_name: str | None, actor=None) -> Deployment | None:
    """Record a staged zip as a build and start uploading it; None when nothing was staged."""
    if not staged_name:
        return None
    with transaction.atomic():
        build = Build.objects.create(
            site=site,
            staged_name=staged_name,
            created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        )
        Build.objects.filter(pk=build.pk).update(prefix=f"builds/{build.pk}")
        Activity.record(verb="build.upload", site=site, actor=actor, detail=f"build {build.pk}")
        return _deployment_create(kind=Kind.BUILD, site=site, build=build, actor=actor)


def _open_staged(build: Build):
    name = build.staged_name
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise StepFailed("the staged archive name is not a storage path")
    if not default_storage.exists(name):
        raise StepFailed("the staged archive is gone; upload the build again")
    return default_storage.open(name, "rb")


def _build_check_step(build: Build) -> str:
    with _open_staged(build) as handle:
        sha = build_files.archive_sha256(handle)
        try:
            with zipfile.ZipFile(handle) as archive:
                entries = build_files.archive_entries(archive)
        except zipfile.BadZipFile as exc:
            raise build_files.BuildRefused(f"not a readable zip archive ({exc})") from exc
    total = sum(e.info.file_size for e in entries)
    Build.objects.filter(pk=build.pk).update(
        archive_sha256=sha, file_count=len(entries), total_bytes=total, status=Build.Status.UPLOADING
    )
    return f"{len(entries)} files, {total} bytes"


def _build_upload_step(site: ProtectedSite, build: Build, deployment: Deployment) -> str:
    if not site.bucket_name or not aws.bucket_exists(name=site.bucket_name):
        if _past_deadline(deployment):
            raise StepFailed("the site's bucket never appeared")
        raise Wait("waiting for the site's bucket (provisioning)", countdown=15)
    prefix = build.prefix or f"builds/{build.pk}"
    count = 0
    with _open_staged(build) as handle, zipfile.ZipFile(handle) as archive:
        entries = build_files.archive_entries(archive)  # checked again: the file could have changed
        for entry, data in build_files.iter_files(archive, entries):
            aws.build_object_put(
                bucket=site.bucket_name,
                key=f"{prefix}/{entry.path}",
                body=data,
                content_type=entry.content_type,
                cache_control=entry.cache_control,
            )
            count += 1
    return f"{count} files under s3://{site.bucket_name}/{prefix}/"


def _build_live_step(site: ProtectedSite, build: Build, deployment: Deployment) -> str:
    Build.objects.filter(pk=build.pk).update(status=Build.Status.READY, message="")
    ProtectedSite.objects.filter(pk=site.pk).update(live_build=build)
    revision = publishing.config_publish(
        site_id=site.pk, actor=deployment.started_by, reason=f"build {build.pk} is live"
    )
    return f"revision {revision.number} names build {build.pk}" if revision else "the config already names this build"


def build_upload(deployment: Deployment) -> Progress:
    site = _site(deployment)
    build = deployment.build
    if build is None:
        _finish(deployment, Deployment.Status.FAILED, "the build row is gone")
        return Progress("failed")

    def done() -> str:
        # The staged copy is no longer needed once every file is in S3.
        if build.staged_name and default_storage.exists(build.staged_name):
            default_storage.delete(build.staged_name)
        Build.objects.filter(pk=build.pk).update(staged_name="")
        Activity.record(verb="build.live", site=site, actor=deployment.started_by, detail=f"build {build.pk}")
        return f"build {build.pk} is live"

    return _run(
        deployment,
        [
            ("Check archive", lambda: _build_check_step(build)),
            ("Upload files", lambda: _build_upload_step(site, build, deployment)),
            ("Make live", lambda: _build_live_step(site, build, deployment)),
        ],
        done,
    )


# --- teardown -----------------------------------------------------------------------------------------


def site_teardown_start(*, site: ProtectedSite, actor=None) -> Deployment:
    with transaction.atomic():
        running = _active(site, Kind.TEARDOWN)
        if running is not None:
            return running
        ProtectedSite.objects.filter(pk=site.pk).update(status=SiteStatus.DELETING)
        # Their next run is skipped; one mid-step right now may still create
        # something, which the teardown then finds by its derived name.
        Deployment.objects.filter(
            site=site, status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING]
        ).update(status=Deployment.Status.FAILED, finished_at=timezone.now(), message="stopped: the site is being deleted")
        Activity.record(verb="site.teardown", site=site, actor=actor)
        return _deployment_create(kind=Kind.TEARDOWN, site=site, actor=actor)


def _teardown_hosts(site: ProtectedSite) -> list[str]:
    hosts = set(site.config_hosts)
    for revision in site.revisions.filter(upload_status=ConfigRevision.UploadStatus.UPLOADED).only("content"):
        hosts.update(revision.hosts)
    # A name another site uses now holds that site's config.
    return sorted(hosts - ProtectedSite.hosts_in_use(exclude_site_id=site.pk))


def _distribution_adopt(site: ProtectedSite) -> None:
    """A distribution created by a provision whose answer was never recorded."""
    if site.distribution_id:
        return
    found = aws.distribution_find_by_caller_reference(site_caller_reference(site))
    if found:
        ProtectedSite.objects.filter(pk=site.pk).update(distribution_id=found["id"])
        site.distribution_id = found["id"]


def _distribution_disable_step(site: ProtectedSite) -> str:
    _distribution_adopt(site)
    if not site.distribution_id:
        return "no distribution"
    if not aws.distribution_disable(distribution_id=site.distribution_id):
        return "already gone"
    return f"{site.distribution_id}: edge function detached, disabled"


def _distribution_delete_step(site: ProtectedSite, deployment: Deployment) -> str:
    if not site.distribution_id:
        return "no distribution"
    if not aws.distribution_delete(distribution_id=site.distribution_id):
        if _past_deadline(deployment):
            raise StepFailed(f"{site.distribution_id} never finished deploying its disabled state")
        raise Wait(f"waiting for CloudFront to finish disabling {site.distribution_id}")
    gone = site.distribution_id
    ProtectedSite.objects.filter(pk=site.pk).update(distribution_id="")
    site.distribution_id = ""
    return f"{gone} deleted"


def _bucket_delete_step(site: ProtectedSite) -> str:
    gone = site.bucket_name or site_bucket_name(site)
    if not aws.bucket_exists(name=gone):
        ProtectedSite.objects.filter(pk=site.pk).update(bucket_name="")
        return "no bucket"
    aws.site_bucket_empty_and_delete(name=gone)
    ProtectedSite.objects.filter(pk=site.pk).update(bucket_name="")
    return f"{gone} emptied and deleted"


def site_teardown(deployment: Deployment) -> Progress:
    site = _site(deployment)
    if site.status != SiteStatus.DELETING:
        ProtectedSite.objects.filter(pk=site.pk).update(status=SiteStatus.DELETING)
    hosts = _teardown_hosts(site)

    def config_remove() -> str:
        for host in hosts:
            aws.config_object_delete(host=host)
        return ", ".join(hosts) or "no config objects"

    def done() -> str:
        # The shared function's versions stay: Lambda@Edge replicas linger
        # for hours after the association goes, and other sites run them.
        Activity.record(verb="site.deleted", site=site, actor=deployment.started_by, detail=site.slug)
        site.delete()
        return f"{site.slug} is deleted"

    return _run(
        deployment,
        [
            ("Disable distribution", lambda: _distribution_disable_step(site)),
            ("Delete distribution", lambda: _distribution_delete_step(site, deployment)),
            ("Delete bucket", lambda: _bucket_delete_step(site)),
            ("Remove config", config_remove),
        ],
        done,
    )
