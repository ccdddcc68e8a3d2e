"""Teardown: disable and delete the distribution, empty and delete the bucket, remove the config, delete the site."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ... import aws
from ...context import chain
from ...models import Activity, ConfigRevision, Deployment, ProtectedSite
from .names import site_bucket_name, site_caller_reference
from .steps import Kind, Progress, SiteStatus, StepFailed, Wait, _active, _deployment_create, _past_deadline, _run, _site


def site_teardown_start(*, site: ProtectedSite, actor=None) -> Deployment:
    with chain(), transaction.atomic():
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


def _distribution_disable_step(site: ProtectedSite) -> str:
    _distribution_adopt(site)
    if not site.distribution_id:
        return "no distribution"
    if not aws.distribution_disable(distribution_id=site.distribution_id):
        return "already gone"
    return f"{site.distribution_id}: edge function detached, disabled"


def _distribution_adopt(site: ProtectedSite) -> None:
    """A distribution created by a provision whose answer was never recorded."""
    if site.distribution_id:
        return
    found = aws.distribution_find_by_caller_reference(site_caller_reference(site))
    if found:
        ProtectedSite.objects.filter(pk=site.pk).update(distribution_id=found["id"])
        site.distribution_id = found["id"]


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


def _teardown_hosts(site: ProtectedSite) -> list[str]:
    hosts = set(site.config_hosts)
    for revision in site.revisions.filter(upload_status=ConfigRevision.UploadStatus.UPLOADED).only("content"):
        hosts.update(revision.hosts)
    # A name another site uses now holds that site's config.
    return sorted(hosts - ProtectedSite.hosts_taken(hosts, exclude_site_id=site.pk))
