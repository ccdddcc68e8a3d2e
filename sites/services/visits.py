"""Who viewed each demo: the edge's visit lines, collected from CloudWatch Logs.

Lambda@Edge writes a copy's output in the region where it ran, so every
edge function's log group is read in every region it can run in. Each
(function, region) keeps a cursor, the newest event time read; a read starts
OVERLAP before it, because CloudWatch may take a while to make a line
searchable, and the unique event key makes the lines read twice one row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.utils import timezone

from .. import aws
from ..models import Invitation, ProtectedSite, Visit, VisitCursor
from . import webhooks
from .edge_logs import edge_function_names
from .share_links import share_links_mark_used

log = logging.getLogger(__name__)

OVERLAP_MS = 10 * 60 * 1000
MAX_REASONS = 8


@dataclass(frozen=True)
class Collected:
    read: int
    added: int
    failed_regions: list[str]


def visit_regions() -> list[str]:
    return list(settings.GATEHOUSE_EDGE_LOG_REGIONS or aws.EDGE_LOG_REGIONS)


def event_key(*, region: str, group: str, stream: str, event_id: str, timestamp: int) -> str:
    return hashlib.sha256(f"{region}\n{group}\n{stream}\n{event_id}\n{timestamp}".encode()).hexdigest()


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def visit_from_event(event: dict, *, region: str, group: str, site_ids: dict[str, int]) -> Visit | None:
    """The Visit a log event describes, or None (not a visit line, an unknown site)."""
    try:
        line = json.loads(event["message"])
    except (ValueError, TypeError):
        return None
    if not isinstance(line, dict) or line.get("visit") != 1 or line.get("gatehouse") not in Visit.Kind.values:
        return None
    site_id = site_ids.get(line.get("site"))
    if site_id is None:
        return None  # a deleted site, or another console's
    reasons = line.get("why") if isinstance(line.get("why"), list) else []
    occurred = datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt_timezone.utc)
    visit = Visit(
        site_id=site_id,
        kind=line["gatehouse"],
        occurred_at=occurred,
        host=_text(line.get("host"), 253),
        method=_text(line.get("method"), 32),
        subject=_text(line.get("sub"), 200),
        email=_text(line.get("email"), 320).lower(),
        reasons=[str(r)[:200] for r in reasons[:MAX_REASONS]],
        stage=_text(line.get("at"), 16),
        region=region,
        event_key=event_key(
            region=region, group=group, stream=event["stream"], event_id=event["event_id"], timestamp=event["timestamp"]
        ),
    )
    # A share link's use (its public id, never its secret): the link's last use.
    used = line["gatehouse"] == Visit.Kind.SIGNED_IN and line.get("method") == "share_link"
    visit.share_link_id = _text(line.get("link"), 12) if used else ""
    return visit


def visits_collect(*, now_ms: int | None = None) -> Collected:
    """Read every edge function's new visit lines in every region into Visit rows.

    Idempotent: a line read again is skipped by its event key. A region that
    fails is logged, keeps its cursor and is read again next time; the
    others go on.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    first_read_from = now_ms - settings.GATEHOUSE_VISITS_RETENTION_DAYS * 86400 * 1000
    site_ids = dict(ProtectedSite.objects.values_list("slug", "pk"))
    read = added = 0
    failed = []
    for function_name in edge_function_names():
        group = aws.edge_log_group_name(function_name)
        for region in visit_regions():
            cursor, _ = VisitCursor.objects.get_or_create(function_name=function_name, region=region)
            start = max(first_read_from, cursor.last_timestamp_ms - OVERLAP_MS) if cursor.last_timestamp_ms else first_read_from
            newest = cursor.last_timestamp_ms
            rows = []
            try:
                for event in aws.edge_log_events(function_name=function_name, region_name=region, start_ms=start):
                    read += 1
                    newest = max(newest, event["timestamp"])
                    visit = visit_from_event(event, region=region, group=group, site_ids=site_ids)
                    if visit is not None:
                        rows.append(visit)
            except aws.AwsError as exc:
                log.warning("visits: %s in %s: %s", group, region, exc)
                VisitCursor.objects.filter(pk=cursor.pk).update(last_error=str(exc)[:300])
                failed.append(region)
                continue
            added += _insert_new(rows)
            _share_link_uses(rows)
            VisitCursor.objects.filter(pk=cursor.pk).update(
                last_timestamp_ms=newest, read_at=timezone.now(), last_error=""
            )
    if added:
        log.info("visits: %s new of %s lines read", added, read)
    return Collected(read=read, added=added, failed_regions=failed)


def _share_link_uses(rows: list[Visit]) -> None:
    uses = {}
    for row in rows:
        if getattr(row, "share_link_id", ""):
            key = (row.site_id, row.share_link_id)
            uses[key] = max(uses.get(key, row.occurred_at), row.occurred_at)
    if uses:
        share_links_mark_used(uses)


def _insert_new(rows: list[Visit]) -> int:
    if not rows:
        return 0
    keys = [row.event_key for row in rows]
    known = set(Visit.objects.filter(event_key__in=keys).values_list("event_key", flat=True))
    fresh = list({row.event_key: row for row in rows if row.event_key not in known}.values())
    # ignore_conflicts: a collector running at the same time added some first.
    Visit.objects.bulk_create(fresh, ignore_conflicts=True)
    _first_visits_claim(fresh)
    return len(fresh)


def _first_visits_claim(rows: list[Visit]) -> None:
    """Invitees seen for the first time: their invitation's first visit is claimed, and the event sent once."""
    firsts: dict[tuple[int, str], Visit] = {}
    for row in rows:
        if row.email and row.kind in (Visit.Kind.SIGNED_IN, Visit.Kind.SESSION_START):
            key = (row.site_id, row.email)
            if key not in firsts or row.occurred_at < firsts[key].occurred_at:
                firsts[key] = row
    if not firsts:
        return
    waiting = Invitation.objects.filter(
        site_id__in={site_id for site_id, _ in firsts}, email__in={email for _, email in firsts}, first_visit_at=None
    ).select_related("site")
    for invitation in waiting:
        visit = firsts.get((invitation.site_id, invitation.email))
        if visit is None:
            continue
        # The claim: of two collectors reading the same line, one sends.
        if Invitation.objects.filter(pk=invitation.pk, first_visit_at=None).update(first_visit_at=visit.occurred_at):
            webhooks.invitee_first_visit_emit(
                site=invitation.site, email=invitation.email, occurred_at=visit.occurred_at, kind=visit.kind
            )


def visits_purge(*, now=None) -> int:
    """Delete visits older than GATEHOUSE_VISITS_RETENTION_DAYS; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GATEHOUSE_VISITS_RETENTION_DAYS)
    deleted, _ = Visit.objects.filter(occurred_at__lt=cutoff).delete()
    return deleted
