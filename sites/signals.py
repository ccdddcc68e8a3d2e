"""Saves that change a site's config hand the site to the publish service, after commit.

Receivers only capture who/why and pass the site on: the publish service
renders once the transaction has committed (so it sees the site with all its
related rows), once per site however many rows the transaction saved.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .context import current_change
from .models import IdentityProvider, ProtectedSite, SessionKey
from .services import publishing


def publish_on_commit(site_ids, default_reason: str) -> None:
    """`site_ids`: a list, or a callable run after commit that returns one."""
    change = current_change()
    publishing.config_publish_on_commit(site_ids=site_ids, actor=change.actor, reason=change.reason or default_reason)


@receiver(post_save, sender=ProtectedSite, dispatch_uid="gatehouse.site_saved")
def site_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    publish_on_commit([instance.pk], "site created" if created else "site settings changed")


@receiver(post_save, sender=IdentityProvider, dispatch_uid="gatehouse.provider_saved")
def provider_saved(sender, instance, created, raw=False, **kwargs):
    if raw or created:
        return
    provider_id = instance.pk
    publish_on_commit(
        lambda: list(ProtectedSite.objects.filter(provider_id=provider_id).values_list("pk", flat=True)),
        f"provider {instance.name} changed",
    )


@receiver(post_save, sender=SessionKey, dispatch_uid="gatehouse.session_key_saved")
def session_key_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    publish_on_commit([instance.site_id], "session key added" if created else "session key retired")


@receiver(post_delete, sender=SessionKey, dispatch_uid="gatehouse.session_key_deleted")
def session_key_deleted(sender, instance, **kwargs):
    publish_on_commit([instance.site_id], "session key removed")
