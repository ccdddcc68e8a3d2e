"""Redeploy: upload the config again, re-apply CloudFront's settings, clear its cache; or move a site to another release."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from ... import aws
from ...context import chain
from ...models import Activity, Deployment, EdgeRelease, ProtectedSite
from .oac import site_oac_id
from .site_config import _config_step
from .snapshots import snapshot_known, snapshot_record
from .steps import Kind, Progress, SiteStatus, StepFailed, _deployment_create, _finish, _run, _site


def site_redeploy_start(*, site: ProtectedSite, actor=None) -> Deployment:
    with chain(), transaction.atomic():
        Activity.record(verb="site.redeploy", site=site, actor=actor)
        return _deployment_create(kind=Kind.REDEPLOY, site=site, actor=actor)


def site_move_release(*, site: ProtectedSite, release: EdgeRelease, actor=None) -> Deployment:
    """Pin `site` to another published release and roll the distribution onto it."""
    if release.status != EdgeRelease.Status.PUBLISHED or not release.version_arn:
        raise ValueError(f"release {release.version} is not published")
    with chain(), transaction.atomic():
        Activity.record(verb="site.move_release", site=site, actor=actor, detail=release.version)
        return _deployment_create(kind=Kind.EDGE_RELEASE, site=site, edge_release=release, actor=actor)


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


def _apply_settings_step(site: ProtectedSite) -> str:
    answer = settings_update(site, oac_id=site_oac_id(site), known=snapshot_known(site))
    snapshot_record(site, answer)
    return f"settings re-applied with {site.edge_release.version_arn}"


def settings_update(site: ProtectedSite, *, oac_id: str, known: tuple[dict, str] | None) -> dict:
    """Send CloudFront the site's settings and pinned release; its answer. No database: a roll-out runs it in a pool thread."""
    release = site.edge_release
    if release is None or not release.version_arn:
        raise StepFailed("the site has no published edge release")

    def mutate(config: dict) -> None:
        aws.distribution_settings_apply(
            config,
            bucket_name=site.bucket_name,
            oac_id=oac_id,
            aliases=site.hosts,
            certificate_arn=site.acm_certificate_arn or None,
            edge_version_arn=release.version_arn,
        )

    return aws.distribution_update(distribution_id=site.distribution_id, mutate=mutate, known=known)
