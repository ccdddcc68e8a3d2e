"""What CloudFront last said a site's distribution holds, so an update can skip the read.

aws.distribution_update(known=...) writes over the recorded (config, ETag)
and falls back to a read when CloudFront refuses the ETag. Recorded from
every create or update answer this console gets; a snapshot of another
distribution than the site's (a site re-provisioned) is never used.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...models import DistributionSnapshot, ProtectedSite


def snapshots_known(sites: Iterable[ProtectedSite]) -> dict[int, tuple[dict, str]]:
    """site pk -> (config, ETag) for the sites whose snapshot is of their current distribution; one query."""
    wanted = {site.pk: site.distribution_id for site in sites if site.distribution_id}
    rows = DistributionSnapshot.objects.filter(site_id__in=wanted).values_list("site_id", "distribution_id", "config", "etag")
    return {pk: (config, etag) for pk, distribution_id, config, etag in rows if wanted[pk] == distribution_id}


def snapshot_known(site: ProtectedSite) -> tuple[dict, str] | None:
    return snapshots_known([site]).get(site.pk)


def snapshots_record(answers: Iterable[tuple[ProtectedSite, dict]]) -> None:
    """Keep the "config" and "etag" of each (site, CloudFront answer) that has them; one statement."""
    rows = [
        DistributionSnapshot(site_id=site.pk, distribution_id=answer["id"], etag=answer["etag"], config=answer["config"])
        for site, answer in answers
        if answer.get("etag") and answer.get("config") is not None
    ]
    if rows:
        DistributionSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["site"],
            update_fields=["distribution_id", "etag", "config", "recorded_at"],
        )


def snapshot_record(site: ProtectedSite, answer: dict) -> None:
    snapshots_record([(site, answer)])
