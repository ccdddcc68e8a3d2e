"""Console actions that only change settings: the save publishes a new config.

None of these touch AWS; the edge picks up the new config within its cache
lifetime once the upload lands.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from ..context import change_context
from ..models import Activity, Build, ProtectedSite
from . import webhooks


def _save(site: ProtectedSite, *, actor, reason: str, verb: str, fields: list[str], detail: str = "") -> None:
    with change_context(actor=actor, reason=reason), transaction.atomic():
        site.full_clean()
        site.save(update_fields=[*fields, "updated_at"])
        Activity.record(verb=verb, site=site, actor=actor, detail=detail or reason)


def site_access_extend(*, site: ProtectedSite, not_after: datetime | None, actor) -> None:
    """Move the demo's expiry; None means no expiry."""
    site.not_after = not_after
    when = not_after.strftime("%Y-%m-%d %H:%M UTC") if not_after else "no end date"
    _save(site, actor=actor, reason=f"access extended to {when}", verb="site.extend", fields=["not_after"])


def site_disable(*, site: ProtectedSite, actor) -> None:
    site.disabled = True
    _save(site, actor=actor, reason="site disabled", verb="site.disable", fields=["disabled"])


def site_enable(*, site: ProtectedSite, actor) -> None:
    site.disabled = False
    _save(site, actor=actor, reason="site enabled", verb="site.enable", fields=["disabled"])


def build_make_live(*, site: ProtectedSite, build: Build, actor) -> None:
    """Serve an already uploaded build: the config names it, so it is instant."""
    if build.site_id != site.pk:
        raise ValidationError("That build belongs to another site.")
    if build.status != Build.Status.READY:
        raise ValidationError(f"Build {build.pk} is {build.status}; only an uploaded build can go live.")
    with transaction.atomic():
        site.live_build = build
        # Later than any upload started before: that one no longer replaces it.
        site.live_seq = site.live_seq_issue()
        _save(site, actor=actor, reason=f"build {build.pk} made live", verb="build.live", fields=["live_build", "live_seq"])
        webhooks.build_live_emit(site=site, build=build, actor=actor)


# The settings the "Edit settings" page changes; everything else on a site
# has an action of its own (disable, move release, builds) or is fixed.
EDITABLE_SETTINGS = (
    "signin_methods",
    # Only for a site that has none yet (the edit page offers it then).
    "provider",
    "assertion_path_prefixes",
    "assertion_lifetime",
    "hosts",
    "acm_certificate_arn",
    "allow_any_user",
    "emails",
    "email_domains",
    "groups_claim",
    "groups",
    "session_lifetime",
    "not_before",
    "not_after",
    "public_paths",
    "spa_mode",
)
# Host names live on the CloudFront distribution too, not only in the config.
CLOUDFRONT_SETTINGS = frozenset({"hosts", "acm_certificate_arn"})


def site_settings_update(*, site: ProtectedSite, actor, reason: str = "", **fields) -> list[str]:
    """Save the settings that differ from the site's; return their names (none: nothing saved).

    Compared after the model's own normalising (lower-case, sorted emails),
    so retyping the same rules in another order publishes nothing. Raises
    ValidationError, saving nothing, when the model refuses the values.
    """
    unknown = set(fields) - set(EDITABLE_SETTINGS)
    if unknown:
        raise TypeError(f"not editable here: {', '.join(sorted(unknown))}")
    before = {name: getattr(site, name) for name in fields}
    for name, value in fields.items():
        setattr(site, name, value)
    try:
        site.full_clean()
    except ValidationError:
        for name, value in before.items():
            setattr(site, name, value)
        raise
    changed = [name for name in fields if getattr(site, name) != before[name]]
    if not changed:
        return []
    reason = reason.strip() or "settings changed"
    _save(site, actor=actor, reason=reason, verb="site.settings", fields=changed, detail=f"{reason}: {', '.join(changed)}")
    return changed
