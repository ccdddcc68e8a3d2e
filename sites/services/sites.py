from django.db import transaction

from ..context import change_context
from ..models import Activity, ProtectedSite, SessionKey


def site_create(*, actor=None, reason: str = "site created", **fields) -> ProtectedSite:
    """A validated site with its first session key; its config publishes on commit."""
    with change_context(actor=actor, reason=reason), transaction.atomic():
        site = ProtectedSite(created_by=actor if actor is not None and actor.is_authenticated else None, **fields)
        site.full_clean()
        site.save()
        SessionKey.generate(site).save()
        Activity.record(verb="site.create", site=site, actor=actor, detail=reason)
    return site
