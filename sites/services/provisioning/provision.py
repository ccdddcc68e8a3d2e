"""Provision: a site's bucket, edge release, CloudFront distribution and config, until it is live."""

from __future__ import annotations

import logging

from django.db import transaction

from ... import aws, enqueue
from ...context import chain
from ...models import Activity, ConfigRevision, Deployment, DeploymentStep, EdgeRelease, ProtectedSite
from .. import publishing
from .edge_releases import _function_index_with_room, _release_for, _release_push, edge_zip
from .names import site_bucket_name, site_caller_reference
from .oac import site_oac_id
from .site_config import _config_step
from .snapshots import snapshot_record
from .steps import Kind, Progress, SiteStatus, StepFailed, Wait, _active, _deployment_create, _finish, _past_deadline, _run, _site

log = logging.getLogger(__name__)

_LIVE_STEP = "Wait until deployed"
# How the live step's Wait begins when only the config upload is pending
# (CloudFront, when it is pending too, is named first).
_WAITING_ON_CONFIG = "waiting: config revision "


def site_provision_start(*, site: ProtectedSite, actor=None) -> Deployment:
    """Start (or return the running) provisioning of `site`."""
    with chain(), transaction.atomic():
        running = _active(site, Kind.PROVISION)
        if running is not None:
            return running
        ProtectedSite.objects.filter(pk=site.pk).exclude(status=SiteStatus.DELETING).update(status=SiteStatus.PROVISIONING)
        Activity.record(verb="site.provision", site=site, actor=actor)
        return _deployment_create(kind=Kind.PROVISION, site=site, actor=actor)


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
            (_LIVE_STEP, lambda: _live_step(site, deployment)),
        ],
        done,
    )


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
        oac_id=site_oac_id(site),
        aliases=site.hosts,
        certificate_arn=site.acm_certificate_arn or None,
        edge_version_arn=release.version_arn,
    )
    # Straight into the row: .update(), not save(), so no config revision
    # is made half-way; the config step publishes once, knowingly.
    ProtectedSite.objects.filter(pk=site.pk).update(distribution_id=result["id"], distribution_domain=result["domain"])
    site.distribution_id, site.distribution_domain = result["id"], result["domain"]
    snapshot_record(site, result)
    site.site_hosts_sync()
    return f"{result['id']} ({result['domain']}){'' if result['created'] else ', found by its caller reference'}"


def _bucket_policy_step(site: ProtectedSite) -> str:
    found = aws.distribution_get(site.distribution_id)
    if found is None:
        raise StepFailed(f"distribution {site.distribution_id} does not exist")
    aws.site_bucket_policy_put(name=site.bucket_name, distribution_arn=found["arn"])
    return f"only {found['arn']} may read {site.bucket_name}"


# How soon a provision whose distribution is deployed looks again for its
# config upload (a task's countdown; each look is two small queries).
UPLOAD_POLL_SECONDS = 0.2


def _live_step(site: ProtectedSite, deployment: Deployment) -> str:
    status = aws.distribution_status(site.distribution_id)
    if status is None:
        raise StepFailed(f"distribution {site.distribution_id} disappeared")
    pending = [] if status == "Deployed" else [f"CloudFront is {status}"]
    config = _config_uploaded(site)
    busy = False
    if config and status == "Deployed":
        # Only the upload is left: do it here rather than wait for the upload
        # task to get to it (a broker hop and a re-poll, most of save -> live
        # on moto; issue 9, scale). The same service and claim as the task, so
        # whichever comes second finds it claimed or uploaded and does nothing.
        busy = _config_upload_inline(site)
        config = _config_uploaded(site)
        if config and not busy:
            # Held by the upload task: say so first, then look once more. Either
            # the task, when done, finds this message and wakes the provision
            # (provisions_waiting_on_config_wake), or this second look finds it
            # uploaded; an upload finishing in between is never missed by both.
            DeploymentStep.objects.filter(deployment=deployment, name=_LIVE_STEP).update(message=f"waiting: {config}")
            config = _config_uploaded(site)
    if config:
        pending.append(config)
    if pending:
        if _past_deadline(deployment):
            raise StepFailed("gave up waiting: " + "; ".join(pending))
        # An upload takes about a tenth of a second; CloudFront takes minutes.
        # Only the latter deserves the full poll interval: save -> live stays
        # within a fraction of a second of the upload (issue 9, scale). S3
        # refusing for now is left to the upload task's retries.
        countdown = UPLOAD_POLL_SECONDS if status == "Deployed" and not busy else None
        raise Wait("waiting: " + "; ".join(pending), countdown=countdown)
    return f"{site.distribution_domain} is deployed"


def _config_upload_inline(site: ProtectedSite) -> bool:
    """Upload the site's newest revision if it is still pending; True if S3 was busy or unreachable."""
    newest = site.revisions.order_by("-number").only("pk", "upload_status").first()
    if newest is None or newest.upload_status != ConfigRevision.UploadStatus.PENDING:
        return False  # none yet, being uploaded by the task, or done
    try:
        result = publishing.revision_upload(revision_id=newest.pk)
    except publishing.UploadBusy:
        return False  # an older revision is still uploading: look again shortly
    except aws.AwsTransientError:
        return True  # left pending; the upload task retries it
    except Exception:
        # Only a shortcut: the upload task (and the sweep) still own the
        # upload, so an unexpected error here must not fail the provision.
        log.exception("site %s: inline upload of revision %s failed; left to the upload task", site.slug, newest.pk)
        return True
    return result.outcome == "deferred"  # no config bucket yet: nothing to hurry


def provisions_waiting_on_config_wake(*, revision_id: int) -> list[int]:
    """Run at once the provisions of this revision's site that wait on nothing but its upload; their ids.

    For the upload task, when it uploaded a revision the live step found
    claimed by it: the waiting run would otherwise look again only after
    its countdown and a broker hop. A provision still waiting on CloudFront
    is left to its poll, so no second chain of re-polls starts; a message
    that meets a run holding the lease, or a finished provision, is skipped
    (deployment_run's claim), so a duplicate is harmless.
    """
    ids = list(
        DeploymentStep.objects.filter(
            deployment__site__revisions=revision_id,
            deployment__kind=Kind.PROVISION,
            deployment__status=Deployment.Status.RUNNING,
            name=_LIVE_STEP,
            status=DeploymentStep.Status.RUNNING,
            message__startswith=_WAITING_ON_CONFIG,
        ).values_list("deployment_id", flat=True)
    )
    for pk in ids:
        enqueue.deployment_run_on_commit(pk)
    return ids


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
