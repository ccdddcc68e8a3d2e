"""Restore an old revision's settings as a new revision."""

from django.db import transaction
from django.utils.dateparse import parse_datetime

from ..context import change_context
from ..models import Activity, Build, ConfigRevision, ProtectedSite

# What staff edit on a site, as (config path, model field). Host names, the
# provider, session keys and secrets are not among them: hosts need
# CloudFront to change too, the provider is shared with other sites, and an
# old key or secret must never come back.
RESTORABLE = [
    (("access", "allow_any_user"), "allow_any_user"),
    (("access", "emails"), "emails"),
    (("access", "email_domains"), "email_domains"),
    (("access", "groups_claim"), "groups_claim"),
    (("access", "groups"), "groups"),
    (("access", "not_before"), "not_before"),
    (("access", "not_after"), "not_after"),
    (("session", "lifetime_seconds"), "session_lifetime"),
    (("paths", "public"), "public_paths"),
    (("site", "spa"), "spa_mode"),
    (("site", "disabled"), "disabled"),
]
TIMESTAMP_FIELDS = {"not_before", "not_after"}


def _dig(doc: dict, path: tuple[str, ...]):
    for key in path:
        doc = doc[key]
    return doc


def revision_settings(revision: ConfigRevision) -> dict:
    """The staff-editable settings a revision carries, as model field values."""
    doc = revision.document
    values = {}
    for path, name in RESTORABLE:
        value = _dig(doc, path)
        if name in TIMESTAMP_FIELDS:
            value = parse_datetime(value) if value else None
        elif name == "groups_claim":
            value = value or ""
        values[name] = value
    build = doc["site"].get("build")
    values["live_build_id"] = _build_id(build["id"]) if build else None
    return values


def _build_id(config_id: str) -> int | None:
    return int(config_id[1:]) if config_id.startswith("b") and config_id[1:].isdigit() else None


def revision_restore(*, site: ProtectedSite, revision: ConfigRevision, actor) -> bool:
    """Copy `revision`'s staff-editable settings into `site`; the save publishes them.

    The new revision is rendered from the site as it now is, so it carries
    today's session keys and client secret, whatever the old one had.
    Returns False when the site already has those settings.
    """
    values = revision_settings(revision)
    build_id = values.pop("live_build_id")
    if build_id is not None and not Build.objects.filter(pk=build_id, site=site, status=Build.Status.READY).exists():
        # The build is gone or never finished: keep whatever is live now
        # rather than serve nothing.
        build_id = site.live_build_id
    values["live_build_id"] = build_id
    changed = [name for name, value in values.items() if getattr(site, name) != value]
    if not changed:
        return False
    reason = f"restored revision {revision.number}"
    with change_context(actor=actor, reason=reason), transaction.atomic():
        for name in changed:
            setattr(site, name, values[name])
        if "live_build_id" in changed:
            # A restore picks the build now: an upload started earlier must not replace it.
            site.live_seq = site.live_seq_issue()
        site.full_clean()
        # Only the restored settings (and the live order): a whole-row save
        # would write back whatever a workflow changed since the site was read.
        site.save(update_fields=[*changed, "live_seq", "updated_at"])
        Activity.record(verb="config.restore", site=site, actor=actor, detail=f"{reason}: {', '.join(changed)}")
    return True
