"""Rolling an edge release out to every site: one row in the request, batches in the worker.

The POST records a Rollout and enqueues one task. `rollout_advance` (that
task) lists the sites once, then moves a batch at a time: pin the release,
publish the config, send CloudFront the new version ARN; it re-enqueues
itself until none is pending. A site is done when CloudFront says
`Deployed`: `rollouts_sweep`, one periodic task, checks the updated ones in
batches, so no task per site sits polling.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ... import aws, enqueue
from ...context import chain, current_chain
from ...models import Activity, EdgeRelease, ProtectedSite, Rollout, RolloutSite
from .. import publishing
from .oac import site_oac_id
from .redeploy import settings_update
from .snapshots import snapshots_known, snapshots_record

log = logging.getLogger(__name__)

State = RolloutSite.State
# A claimed batch whose worker died is handed back after this long.
CLAIM_LAPSES = timedelta(minutes=10)


def rollout_start(*, release: EdgeRelease, actor=None) -> Rollout:
    """Record the roll-out of `release` to every other site and enqueue its task; no AWS, no per-site work."""
    if release.status != EdgeRelease.Status.PUBLISHED or not release.version_arn:
        raise ValueError(f"release {release.version} is not published")
    with chain(), transaction.atomic():
        running = release.rollouts.exclude(status=Rollout.Status.DONE).first()
        if running is not None:
            return running
        rollout = Rollout.objects.create(
            release=release,
            started_by=actor if actor is not None and actor.is_authenticated else None,
            chain_id=current_chain(),
        )
        Activity.record(verb="edge_release.rollout", actor=actor, detail=release.version)
        enqueue.rollout_advance_on_commit(rollout.pk)
    return rollout


def _sites_list(rollout: Rollout) -> None:
    """A RolloutSite row per site to move, once. Sites with no distribution yet are only pinned:
    their provisioning attaches the pinned release."""
    candidates = ProtectedSite.objects.exclude(edge_release=rollout.release).exclude(status=ProtectedSite.Status.DELETING)
    with transaction.atomic():
        if not Rollout.objects.filter(pk=rollout.pk, sites_listed=False).update(sites_listed=True):
            return  # another delivery listed them
        candidates.filter(distribution_id="").update(edge_release=rollout.release)
        ids = candidates.exclude(distribution_id="").values_list("pk", flat=True)
        RolloutSite.objects.bulk_create(
            [RolloutSite(rollout=rollout, site_id=pk) for pk in ids.iterator()], batch_size=1000, ignore_conflicts=True
        )


def rollout_advance(*, rollout_id: int) -> int:
    """Move one batch of the roll-out's sites; the number still pending (the task comes back while > 0)."""
    rollout = Rollout.objects.select_related("release", "started_by").filter(pk=rollout_id).first()
    if rollout is None or rollout.status != Rollout.Status.RUNNING:
        return 0
    with chain(rollout.chain_id):
        return _advance(rollout)


def _advance(rollout: Rollout) -> int:
    if not rollout.sites_listed:
        _sites_list(rollout)
    release = rollout.release
    token = uuid.uuid4().hex
    batch = list(
        rollout.site_rows.filter(state=State.PENDING).order_by("pk").values_list("pk", flat=True)[: settings.GATEHOUSE_ROLLOUT_BATCH_SIZE]
    )
    # Claimed by a conditional UPDATE: a twin delivery takes other rows, or none.
    RolloutSite.objects.filter(pk__in=batch, state=State.PENDING).update(state=State.UPDATING, claim=token, updated_at=timezone.now())
    rows = list(RolloutSite.objects.filter(claim=token, state=State.UPDATING).select_related("site", "site__edge_release"))
    reason = f"edge release {release.version} rolled out"
    known = snapshots_known(row.site for row in rows)
    oacs: dict[str, str] = {}  # OAC name -> id, looked up once per OAC (sharded, provisioning/oac.py)
    answers = []
    # A site goes to CloudFront as soon as its config is published: the
    # pool's calls (network-bound; clients are thread-safe) overlap this
    # thread's publishing of the next site. The database stays in this thread.
    with ThreadPoolExecutor(max_workers=max(1, settings.GATEHOUSE_ROLLOUT_CONCURRENCY)) as pool:
        sent = []
        for row in rows:
            oac_id, failed = _site_prepare(row.site, release, oacs, actor=rollout.started_by, reason=reason)
            if failed:
                row.state, row.message = failed
                continue
            sent.append((row, pool.submit(_site_update, row.site, oac_id=oac_id, known=known.get(row.site.pk))))
        for row, future in sent:
            row.state, row.message, answer = future.result()
            if answer is not None:
                answers.append((row.site, answer))
    snapshots_record(answers)
    for row in rows:
        row.updated_at = timezone.now()
    RolloutSite.objects.bulk_update(rows, ["state", "message", "updated_at"])
    pending = rollout.site_rows.filter(state__in=(State.PENDING, State.UPDATING)).count()
    if not pending:
        Rollout.objects.filter(pk=rollout.pk, status=Rollout.Status.RUNNING).update(status=Rollout.Status.APPLYING)
    return rollout.site_rows.filter(state=State.PENDING).count()


def _site_prepare(
    site: ProtectedSite, release: EdgeRelease, oacs: dict[str, str], *, actor, reason: str
) -> tuple[str, None] | tuple[None, tuple[str, str]]:
    """Pin the release, publish the config, find the site's OAC id: (OAC id, None), or (None, (state, message))."""
    try:
        # The config's schema version follows the release: pin first.
        ProtectedSite.objects.filter(pk=site.pk).update(edge_release=release)
        site.edge_release = release
        publishing.config_publish(site_id=site.pk, actor=actor, reason=reason)
        return site_oac_id(site, known=oacs), None
    except Exception as exc:  # one site's failure must not stop the other 9,999
        return None, _failure(site, exc)


def _site_update(site: ProtectedSite, *, oac_id: str, known: tuple[dict, str] | None) -> tuple[str, str, dict | None]:
    """(state, message, CloudFront's answer) once it has the new version ARN (no database here: a pool thread)."""
    try:
        # The function runs on viewer request, before the cache: no invalidation needed.
        answer = settings_update(site, oac_id=oac_id, known=known)
    except Exception as exc:  # one site's failure must not stop the other 9,999
        return (*_failure(site, exc), None)
    return State.UPDATED, "", answer


def _failure(site: ProtectedSite, exc: Exception) -> tuple[str, str]:
    """A site's (state, message) after an error: pending again when AWS may answer later, else failed."""
    if isinstance(exc, aws.AwsTransientError):
        log.info("roll-out: %s will be tried again: %s", site.slug, exc)
        return State.PENDING, ""
    log.warning("roll-out: %s failed: %s", site.slug, exc)
    return State.FAILED, str(exc)[:500]


def rollouts_sweep() -> int:
    """Mark updated sites done once CloudFront says `Deployed`, a batch per run; finish roll-outs. Returns sites checked."""
    now = timezone.now()
    # A batch whose worker died: back to pending, and the roll-out's task sent again.
    lapsed = RolloutSite.objects.filter(state=State.UPDATING, updated_at__lt=now - CLAIM_LAPSES)
    for rollout_id in set(lapsed.values_list("rollout_id", flat=True)):
        lapsed.filter(rollout_id=rollout_id).update(state=State.PENDING, claim="")
        Rollout.objects.filter(pk=rollout_id).update(status=Rollout.Status.RUNNING)
        enqueue.rollout_advance(rollout_id)
    rows = list(
        RolloutSite.objects.filter(state=State.UPDATED)
        .select_related("site")
        .order_by("checked_at", "pk")[: settings.GATEHOUSE_ROLLOUT_CHECK_BATCH_SIZE]
    )
    deployed, checked = [], []
    for row in rows:
        try:
            status = aws.distribution_status(row.site.distribution_id) if row.site.distribution_id else None
        except aws.AwsTransientError:
            break  # throttled: the next sweep carries on
        checked.append(row.pk)
        if status in ("Deployed", None):  # None: the distribution is gone, nothing left to wait for
            deployed.append(row.pk)
    RolloutSite.objects.filter(pk__in=checked).update(checked_at=now)
    RolloutSite.objects.filter(pk__in=deployed).update(state=State.DEPLOYED)
    for rollout in Rollout.objects.filter(status=Rollout.Status.APPLYING).select_related("release", "started_by"):
        if not rollout.site_rows.filter(state__in=(State.PENDING, State.UPDATING, State.UPDATED)).exists():
            if Rollout.objects.filter(pk=rollout.pk, status=Rollout.Status.APPLYING).update(
                status=Rollout.Status.DONE, finished_at=now
            ):
                with chain(rollout.chain_id):
                    counts = rollout.counts()
                    Activity.record(
                        verb="edge_release.rollout_done", actor=rollout.started_by,
                        detail=f"{rollout.release.version}: {counts['deployed']} deployed, {counts['failed']} failed",
                    )
    return len(checked)
