"""Share links: made (the whole link shown once), revoked, and their last use.

A link is `<site origin>/_gatehouse/link/<public_id>.<secret>`. Only the
secret's SHA-256 is kept, and the site's published config lists each active
link by public id, that digest and its expiry (rendering.share_link_entry),
so both making and revoking a link publish the site's config: the edge
accepts a new link, or refuses a revoked one, within its config cache
lifetime. See docs/share-links.md.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from edge_runtime.config import FIELDS_SINCE, SHARE_LINK_ID_LENGTH, SHARE_LINK_PREFIX

from ..context import change_context
from ..models import Activity, ProtectedSite, ShareLink
from . import publishing

# The edge release must read the config's `share_links` field.
SCHEMA_VERSION = FIELDS_SINCE["config"]["share_links"]


def secret_digest(secret: str) -> str:
    # The secret is 256 random bits: a fast hash is enough, nothing to guess.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def share_link_url(site: ProtectedSite, public_id: str, secret: str) -> str:
    origin = site.public_origin(site.primary_host) if site.primary_host else ""
    return f"{origin}{SHARE_LINK_PREFIX}{public_id}.{secret}"


def max_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=settings.GATEHOUSE_SHARE_LINK_MAX_DAYS)


def active_share_links(site: ProtectedSite):
    return ShareLink.objects.filter(site=site, revoked_at=None, expires_at__gt=timezone.now())


def share_link_create(*, site: ProtectedSite, label: str, expires_at: datetime, actor) -> tuple[ShareLink, str]:
    """Make a link; (its row, the whole link: shown once, never stored).

    ValidationError (by field) when the expiry is past or beyond the maximum,
    the site already has the most active links it may, or its edge release
    cannot read share links.
    """
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError({"expires_on": "Pick a day from today on."})
    if expires_at > max_expiry(now) + timedelta(days=1):
        raise ValidationError({"expires_on": f"A link lasts at most {settings.GATEHOUSE_SHARE_LINK_MAX_DAYS} days."})
    if site.schema_version < SCHEMA_VERSION:
        raise ValidationError("This site's edge release cannot read share links; move it to a newer edge release first.")
    public_id = secrets.token_urlsafe(9)  # 12 characters
    assert len(public_id) == SHARE_LINK_ID_LENGTH
    secret = secrets.token_urlsafe(32)
    with change_context(actor=actor, reason=f"share link '{label}' made"), transaction.atomic():
        # The lock makes the count below hold until this link is in.
        site = ProtectedSite.objects.select_for_update(of=("self",)).get(pk=site.pk)
        if active_share_links(site).count() >= settings.GATEHOUSE_SHARE_LINKS_MAX_ACTIVE:
            raise ValidationError(
                f"This site has {settings.GATEHOUSE_SHARE_LINKS_MAX_ACTIVE} active share links, the most it may have "
                "(each is a line of the config the edge reads). Revoke one that is no longer needed first."
            )
        link = ShareLink.objects.create(
            site=site, label=label, public_id=public_id, secret_sha256=secret_digest(secret),
            expires_at=expires_at, created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        Activity.record(
            verb="share_link.create", site=site, actor=actor, detail=f"'{label}', until {expires_at:%d %b %Y %H:%M} UTC"
        )
        publishing.config_publish_on_commit(site_ids=[site.pk], actor=actor, reason=f"share link '{label}' made")
    return link, share_link_url(site, public_id, secret)


def share_link_revoke(*, link: ShareLink, actor) -> bool:
    """Revoke the link now (the republished config drops it); False when it already was."""
    with change_context(actor=actor, reason=f"share link '{link.label}' revoked"), transaction.atomic():
        done = ShareLink.objects.filter(pk=link.pk, revoked_at=None).update(
            revoked_at=timezone.now(), revoked_by=actor if getattr(actor, "is_authenticated", False) else None
        )
        if done:
            Activity.record(verb="share_link.revoke", site=link.site, actor=actor, detail=f"'{link.label}'")
            publishing.config_publish_on_commit(
                site_ids=[link.site_id], actor=actor, reason=f"share link '{link.label}' revoked"
            )
    link.refresh_from_db()
    return bool(done)


def share_links_mark_used(uses: dict[tuple[int, str], datetime]) -> int:
    """Move each link's last use up to the newest time seen: {(site id, public id): time}.

    A conditional UPDATE per link, so a line read twice, or out of order, never
    moves it back. Returns how many rows moved.
    """
    moved = 0
    for (site_id, public_id), used_at in uses.items():
        moved += ShareLink.objects.filter(site_id=site_id, public_id=public_id).filter(
            Q(last_used_at=None) | Q(last_used_at__lt=used_at)
        ).update(last_used_at=used_at)
    return moved
