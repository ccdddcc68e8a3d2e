from django.db import transaction

from ..context import change_context
from ..models import Activity, IdentityProvider, ProtectedSite, SessionKey
from . import provisioning


def site_create(*, actor=None, reason: str = "site created", **fields) -> ProtectedSite:
    """A validated site with its first session key; its config publishes on commit."""
    with change_context(actor=actor, reason=reason), transaction.atomic():
        site = ProtectedSite(created_by=actor if actor is not None and actor.is_authenticated else None, **fields)
        site.full_clean()
        site.save()
        SessionKey.generate(site).save()
        Activity.record(verb="site.create", site=site, actor=actor, detail=reason)
    return site


def site_onboard(*, actor, provider: IdentityProvider | None, staged_name: str | None, **fields) -> ProtectedSite:
    """Onboarding: the provider (if new), the site, its provisioning and its first build (if staged).

    `provider` is None for a site whose viewers sign in with an e-mail code only.

    The page and the API both call this with the onboarding form's cleaned values.
    """
    with change_context(actor=actor, reason="site onboarded"), transaction.atomic():
        if provider is not None and provider.pk is None:
            provider.save()
        site = site_create(actor=actor, reason="site onboarded", provider=provider, **fields)
        # The build waits for the bucket that provisioning makes; both tasks
        # are enqueued on commit, so the worker finds the site and its key.
        provisioning.site_provision_start(site=site, actor=actor)
        if staged_name:
            provisioning.build_upload_start(site=site, staged_name=staged_name, actor=actor)
    return site
