"""Console actions that only change settings: the save publishes a new config.

None of these touch AWS; the edge picks up the new config within its cache
lifetime once the upload lands.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from ..context import change_context
from ..models import Activity, Build, ProtectedSite


def _save(site: ProtectedSite, *, actor, reason: str, verb: str, fields: list[str]) -> None:
    with change_context(actor=actor, reason=reason), transaction.atomic():
        site.full_clean()
        site.save(update_fields=[*fields, "updated_at"])
        Activity.record(verb=verb, site=site, actor=actor, detail=reason)


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
    site.live_build = build
    _save(site, actor=actor, reason=f"build {build.pk} made live", verb="build.live", fields=["live_build"])
