"""Config publishing: render a revision, then upload it to the config bucket.

Ordering rule: per site, only the newest revision is ever uploaded, and only
one upload runs at a time, so an older revision can never land after a newer
one. Older revisions that never made it are marked superseded.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone

from edge_runtime.config import ConfigError
from edge_runtime.config import validate as edge_validate

from .. import aws, enqueue
from ..context import chain, current_chain
from ..models import Activity, ConfigRevision, ProtectedSite
from ..rendering import (
    SecretMismatch,
    canonical_json,
    config_inject,
    config_redact,
    sha256_hex,
    site_config_render,
    site_secrets,
)

log = logging.getLogger(__name__)

Status = ConfigRevision.UploadStatus


class UploadBusy(Exception):
    """An older revision of the same site is uploading; try again shortly."""


def config_publish(*, site_id: int, actor=None, reason: str = "", force: bool = False) -> ConfigRevision | None:
    """Make a new revision if the site's config changed (or `force`), and enqueue its upload.

    Returns the new revision, or None when nothing changed (or the site is
    gone or being torn down). Raises edge ConfigError when the site's settings
    make a config the edge cannot read. `force` is for putting S3 right when
    its object no longer matches the last upload (config_drift --fix).
    """
    with transaction.atomic():
        # The lock orders concurrent publishes of one site, so revision
        # numbers follow the order in which the settings were committed.
        site = (
            ProtectedSite.objects.select_for_update(of=("self",))
            .select_related("provider", "live_build", "edge_release")
            .filter(pk=site_id)
            .first()
        )
        if site is None or site.status == ProtectedSite.Status.DELETING:
            return None
        doc = site_config_render(site)
        content = canonical_json(config_redact(doc)).decode("utf-8")
        digest = sha256_hex(content.encode("utf-8"))
        latest = site.revisions.order_by("-number").only("number", "sha256", "upload_status").first()
        # The same content again is no change, unless its upload failed for
        # good: then saving again is how staff ask for another try.
        if not force and latest is not None and latest.sha256 == digest and latest.upload_status != Status.FAILED:
            return None
        revision = ConfigRevision.objects.create(
            site=site,
            number=(latest.number + 1) if latest else 1,
            schema_version=doc["schema_version"],
            content=content,
            sha256=digest,
            created_by=actor if actor is not None and actor.is_authenticated else None,
            reason=(reason or "settings changed")[:200],
        )
        Activity.record(
            verb="config.revision",
            site=site,
            actor=actor,
            detail=f"revision {revision.number}: {revision.reason}",
        )
        enqueue.revision_upload_on_commit(revision.pk)
    log.info("site %s: config revision %s (%s)", site.slug, revision.number, revision.reason)
    return revision


def config_publish_checked(*, site_id: int, actor=None, reason: str = "", force: bool = False) -> ConfigRevision | None:
    """config_publish where a config the edge cannot read is recorded (Activity), not raised."""
    try:
        return config_publish(site_id=site_id, actor=actor, reason=reason, force=force)
    except ConfigError as exc:
        site = ProtectedSite.objects.filter(pk=site_id).first()
        log.warning("site %s: config not published: %s", site_id, exc)
        if site is not None:
            Activity.record(verb="config.invalid", site=site, actor=actor, detail="; ".join(exc.errors))
        return None


def config_publish_safely(*, site_id: int, actor=None, reason: str = "") -> ConfigRevision | None:
    """config_publish for on-commit callbacks: never raises.

    The save itself has already committed by then; raising would only turn a
    finished request into a 500. An invalid config is recorded; any other
    error (the database went away, a bug) is logged, recorded, and the
    publish is retried by config_publish_task.
    """
    try:
        return config_publish_checked(site_id=site_id, actor=actor, reason=reason)
    except Exception as exc:
        log.error("site %s: config publish failed (%s); retrying in a task", site_id, type(exc).__name__, exc_info=True)
        _publish_failed(site_id=site_id, actor=actor, reason=reason, exc=exc)
        return None


def _publish_failed(*, site_id: int, actor, reason: str, exc: Exception) -> None:
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    try:
        site = ProtectedSite.objects.filter(pk=site_id).first()
        if site is not None:
            # The type only: an exception's text may quote a setting or a secret.
            Activity.record(verb="config.publish_failed", site=site, actor=actor, detail=f"{type(exc).__name__}; retrying")
    except Exception:
        log.error("site %s: could not record the failed publish", site_id, exc_info=True)
    try:
        enqueue.config_publish(site_id, actor_id, reason, countdown=PUBLISH_RETRY_SECONDS)
    except Exception:
        log.error("site %s: could not enqueue the publish retry", site_id, exc_info=True)


# A failed on-commit publish is tried again this much later (then by the task's own retries).
PUBLISH_RETRY_SECONDS = 30


class _PublishBatch:
    """The sites whose configs one transaction changed, published once each when it commits."""

    def __init__(self):
        self.pending: list[tuple] = []
        self.done = False

    def __call__(self) -> None:
        self.done = True
        published: set[int] = set()
        for site_ids, actor, reason, chain_id in self.pending:
            # The first change of a site names who and why, as it always did,
            # and its revision joins that change's chain.
            for site_id in site_ids() if callable(site_ids) else site_ids:
                if site_id not in published:
                    published.add(site_id)
                    with chain(chain_id):
                        config_publish_safely(site_id=site_id, actor=actor, reason=reason)


def config_publish_on_commit(*, site_ids, actor=None, reason: str = "") -> None:
    """Publish these sites once the current transaction commits: once per site, however many rows changed.

    `site_ids`: a list, or a callable run after commit that returns one.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        # Autocommit: the change is committed already.
        batch = _PublishBatch()
        batch.pending.append((site_ids, actor, reason, current_chain()))
        batch()
        return
    batch = getattr(connection, "_gatehouse_publish_batch", None)
    # A batch whose transaction (or savepoint) rolled back is no longer
    # among the callbacks; one that ran is spent.
    if batch is None or batch.done or not any(entry[1] is batch for entry in connection.run_on_commit):
        batch = _PublishBatch()
        connection._gatehouse_publish_batch = batch
        transaction.on_commit(batch)
    batch.pending.append((site_ids, actor, reason, current_chain()))


@dataclass(frozen=True)
class UploadResult:
    outcome: str  # "uploaded", "superseded", "skipped", "deferred", "failed"
    revision_id: int


def _lease_cutoff():
    return timezone.now() - timedelta(seconds=settings.GATEHOUSE_UPLOAD_LEASE_SECONDS)


def _claim(revision: ConfigRevision) -> str:
    """Take the upload of `revision`: "claimed", "superseded", "skipped", or raise UploadBusy."""
    with transaction.atomic():
        # Serialises claims per site (see the module docstring).
        ProtectedSite.objects.select_for_update().filter(pk=revision.site_id).first()
        others = ConfigRevision.objects.filter(site_id=revision.site_id).exclude(pk=revision.pk)
        newer = others.filter(number__gt=revision.number).exclude(upload_status=Status.SUPERSEDED)
        if newer.exists():
            ConfigRevision.objects.filter(pk=revision.pk, upload_status__in=[Status.PENDING, Status.FAILED]).update(
                upload_status=Status.SUPERSEDED
            )
            return "superseded"
        if others.filter(upload_status=Status.UPLOADING, upload_started_at__gt=_lease_cutoff()).exists():
            raise UploadBusy(f"another revision of site {revision.site_id} is uploading")
        claimable = ConfigRevision.objects.filter(pk=revision.pk).filter(
            upload_status__in=[Status.PENDING, Status.FAILED]
        ) | ConfigRevision.objects.filter(
            pk=revision.pk, upload_status=Status.UPLOADING, upload_started_at__lte=_lease_cutoff()
        )
        claimed = claimable.update(
            upload_status=Status.UPLOADING, upload_started_at=timezone.now(), attempts=F("attempts") + 1
        )
        return "claimed" if claimed else "skipped"


def _release(revision_id: int, **fields) -> int:
    return ConfigRevision.objects.filter(pk=revision_id, upload_status=Status.UPLOADING).update(**fields)


def _hosts_to_remove(revision: ConfigRevision) -> list[str]:
    previous = (
        ConfigRevision.objects.filter(
            site_id=revision.site_id, number__lt=revision.number, upload_status=Status.UPLOADED
        )
        .order_by("-number")
        .first()
    )
    if previous is None:
        return []
    gone = set(previous.hosts) - set(revision.hosts)
    # A name that moved to another site now holds that site's config.
    return sorted(gone - ProtectedSite.hosts_taken(gone, exclude_site_id=revision.site_id))


def revision_upload(*, revision_id: int) -> UploadResult:
    """Upload one revision to every host's config object; safe to run twice.

    Raises aws.AwsTransientError (the revision is left pending) and
    UploadBusy for the caller to retry later.
    """
    revision = ConfigRevision.objects.select_related("site", "site__provider").filter(pk=revision_id).first()
    if revision is None or revision.upload_status == Status.UPLOADED:
        return UploadResult("skipped", revision_id)
    if revision.upload_status == Status.SUPERSEDED:
        return UploadResult("superseded", revision_id)
    site = revision.site
    if site.status == ProtectedSite.Status.DELETING:
        ConfigRevision.objects.filter(pk=revision_id).exclude(upload_status=Status.UPLOADED).update(
            upload_status=Status.SUPERSEDED, last_error="site is being deleted"
        )
        return UploadResult("superseded", revision_id)

    outcome = _claim(revision)
    if outcome != "claimed":
        if outcome == "superseded":
            _enqueue_newest_pending(site.pk)
        return UploadResult(outcome, revision_id)

    try:
        body_doc = config_inject(revision.document, site_secrets(site))
        edge_validate(body_doc, schema_version=revision.schema_version)
    except SecretMismatch:
        # A secret changed after this revision was made: its own save makes
        # (or already made) the revision that replaces this one.
        _release(
            revision_id,
            upload_status=Status.FAILED,
            last_error="a secret changed after this revision was made; a newer revision replaces it",
        )
        config_publish_safely(site_id=site.pk, reason="secret changed before upload")
        return UploadResult("failed", revision_id)
    except ConfigError as exc:
        _release(revision_id, upload_status=Status.FAILED, last_error="; ".join(exc.errors))
        return UploadResult("failed", revision_id)

    body = canonical_json(body_doc)
    removed = _hosts_to_remove(revision)
    versions = {}
    # S3 is called here, outside any transaction: a slow bucket must not hold
    # the site's row lock or a database connection in a transaction.
    try:
        for host in revision.hosts:
            versions[host] = aws.config_object_put(host=host, body=body) or ""
        for host in removed:
            aws.config_object_delete(host=host)
        _not_found_page_refresh(site, revision)
    except aws.AwsTransientError as exc:
        _release(revision_id, upload_status=Status.PENDING, last_error=f"will retry: {exc}")
        raise
    except aws.AwsError as exc:
        if getattr(exc, "code", None) == "NoSuchBucket":
            # A site saved before its first provision: the config bucket comes
            # with provisioning, which publishes and uploads the config itself.
            _release(revision_id, upload_status=Status.PENDING, last_error="waiting for provisioning")
            return UploadResult("deferred", revision_id)
        _release(revision_id, upload_status=Status.FAILED, last_error=str(exc))
        log.warning("site %s: revision %s upload failed: %s", site.slug, revision.number, exc)
        return UploadResult("failed", revision_id)

    _release(
        revision_id,
        upload_status=Status.UPLOADED,
        uploaded_at=timezone.now(),
        uploaded_sha256=sha256_hex(body),
        s3_version_ids=versions,
        last_error="",
    )
    ConfigRevision.objects.filter(
        site_id=site.pk, number__lt=revision.number, upload_status__in=[Status.PENDING, Status.FAILED]
    ).update(upload_status=Status.SUPERSEDED)
    log.info("site %s: revision %s uploaded to %s", site.slug, revision.number, ", ".join(revision.hosts))
    _enqueue_newest_pending(site.pk)
    return UploadResult("uploaded", revision_id)


def not_found_page() -> bytes:
    """The Gatehouse page a viewer gets for a missing object when the build has no 404.html."""
    from edge_runtime import responses

    return responses.page(None, 404, "Page not found", ["There is nothing at this address."])["body"].encode()


def _not_found_page_refresh(site: ProtectedSite, revision: ConfigRevision) -> None:
    """Make the site's not-found page the one of the build this revision serves.

    Here, because the upload of a config is the moment the edge starts
    serving another build (a new build, a rollback, a restored revision).
    """
    if not site.bucket_name:
        return  # not provisioned yet: provisioning uploads a config, and so the page
    build = revision.document.get("site", {}).get("build") or {}
    try:
        source = aws.not_found_page_put(
            bucket=site.bucket_name, build_prefix=build.get("prefix"), default_page=not_found_page()
        )
    except aws.AwsTransientError:
        raise
    except aws.AwsError as exc:
        # The config is what guards the site and it is in place; a page that
        # could not be copied is logged, never a reason to fail the upload.
        log.warning("site %s: not-found page not updated: %s", site.slug, exc)
        return
    log.info("site %s: not-found page from %s", site.slug, source)


def _enqueue_newest_pending(site_id: int) -> None:
    newest = ConfigRevision.objects.filter(site_id=site_id).aggregate(n=Max("number"))["n"]
    pending = ConfigRevision.objects.filter(site_id=site_id, number=newest, upload_status=Status.PENDING).first()
    if pending is not None:
        enqueue.revision_upload_on_commit(pending.pk)


def _retry_due(attempts: int) -> timedelta:
    """How long after its last attempt a failed upload is tried again: doubling, capped."""
    base = settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.GATEHOUSE_UPLOAD_RETRY_MAX_SECONDS))


def revisions_failed(*, now=None):
    """Each site's newest revision when its upload failed: what the dashboard lists and the sweep retries."""
    newest = ConfigRevision.objects.filter(site_id=OuterRef("site_id")).order_by("-number").values("pk")[:1]
    return ConfigRevision.objects.filter(upload_status=Status.FAILED, pk=Subquery(newest)).select_related("site")


def revisions_retry_failed(*, force: bool = False) -> list[int]:
    """Re-enqueue the upload of every site's newest failed revision whose backoff is over (all with `force`)."""
    now = timezone.now()
    ids = []
    for pk, attempts, last in revisions_failed().values_list("pk", "attempts", "upload_started_at"):
        if force or attempts < settings.GATEHOUSE_UPLOAD_RETRY_MAX_ATTEMPTS and (last is None or now - last >= _retry_due(attempts)):
            enqueue.revision_upload(pk)
            ids.append(pk)
    if ids:
        log.info("retrying %d failed config upload(s)", len(ids))
    return ids


def revisions_sweep() -> list[int]:
    """Re-enqueue the newest revision of every site whose upload stalled, and failed ones with backoff."""
    stale = timezone.now() - timedelta(seconds=settings.GATEHOUSE_UPLOAD_SWEEP_SECONDS)
    retried = revisions_retry_failed()
    candidates = list(
        (
            ConfigRevision.objects.filter(upload_status=Status.PENDING, created_at__lte=stale)
            | ConfigRevision.objects.filter(upload_status=Status.UPLOADING, upload_started_at__lte=_lease_cutoff())
        ).values_list("pk", "site_id", "number")
    )
    if not candidates:
        return retried
    newest = dict(
        ConfigRevision.objects.filter(site_id__in={site_id for _, site_id, _ in candidates})
        .values("site_id")
        .annotate(n=Max("number"))
        .values_list("site_id", "n")
    )
    # Older ones are superseded by the newest's upload; no need to send them.
    ids = [pk for pk, site_id, number in candidates if newest.get(site_id) == number]
    for pk in ids:
        enqueue.revision_upload(pk)
    log.info("re-enqueued %d stalled config upload(s)", len(ids))
    return retried + ids
