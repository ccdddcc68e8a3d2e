"""Operations on every site's published config: republish them all, find S3 objects that drifted.

Both go through publishing.config_publish, so a republish is the same
revision-and-upload path a save takes (and a site whose content did not
change gets no revision unless forced).
"""

import logging
from dataclasses import dataclass

from django.db.models import Max

from .. import aws
from ..models import ConfigRevision, ProtectedSite
from .publishing import config_publish_checked

log = logging.getLogger(__name__)

REPUBLISH_REASON = "republished by an operator"
DRIFT_FIX_REASON = "republished: the S3 config had drifted"


def _live_sites():
    return ProtectedSite.objects.exclude(status=ProtectedSite.Status.DELETING).order_by("slug")


def configs_republish(*, force: bool = False, actor=None, site_ids=None, reason: str = REPUBLISH_REASON) -> list[ConfigRevision]:
    """Publish every site (or `site_ids`) again: a revision only where the content changed, unless `force`."""
    sites = _live_sites()
    if site_ids is not None:
        sites = sites.filter(pk__in=site_ids)
    made = []
    for site_id in sites.values_list("pk", flat=True).iterator():
        revision = config_publish_checked(site_id=site_id, actor=actor, reason=reason, force=force)
        if revision is not None:
            made.append(revision)
    return made


@dataclass(frozen=True)
class Drift:
    site_id: int
    slug: str
    host: str
    revision: int
    state: str  # "drifted": S3 holds other bytes; "missing": no object


def config_drift_find() -> list[Drift]:
    """Each host whose S3 config object differs from (or lacks) the site's last uploaded revision."""
    last = (
        ConfigRevision.objects.filter(upload_status=ConfigRevision.UploadStatus.UPLOADED, site__in=_live_sites())
        .values("site_id")
        .annotate(number=Max("number"))
    )
    wanted = {(row["site_id"], row["number"]) for row in last}
    revisions = ConfigRevision.objects.filter(
        upload_status=ConfigRevision.UploadStatus.UPLOADED, site_id__in={site_id for site_id, _ in wanted}
    ).select_related("site")
    found = []
    for revision in sorted(revisions, key=lambda r: r.site.slug):
        if (revision.site_id, revision.number) not in wanted:
            continue
        for host in revision.hosts:
            digest = aws.config_object_digest(host=host)
            if digest is None:
                found.append(Drift(revision.site_id, revision.site.slug, host, revision.number, "missing"))
            elif digest != revision.uploaded_sha256:
                found.append(Drift(revision.site_id, revision.site.slug, host, revision.number, "drifted"))
    if found:
        log.warning("config drift on %d host(s)", len(found))
    return found
