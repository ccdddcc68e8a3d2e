"""Session keys: rotate (old keys still verify) versus revoke (everyone signed out)."""

from django.db import transaction
from django.utils import timezone

from ..models import Activity, ProtectedSite, SessionKey

# Accepted keys besides the current one, at most: each is a secret in the
# config, and a key older than a session lifetime signs nothing still valid.
MAX_PREVIOUS_KEYS = 3


def session_key_rotate(*, site: ProtectedSite, actor=None) -> SessionKey:
    """Add a new current key. Sessions signed with older keys stay valid until
    they expire; keys that can no longer have live sessions are retired."""
    with transaction.atomic():
        key = SessionKey.generate(site)
        key.save()
        now = timezone.now()
        active = list(site.session_keys.filter(retired_at=None).exclude(pk=key.pk).order_by("-created_at", "-pk"))
        # A key's sessions all started before its successor was created, so
        # they have all expired a session lifetime after that.
        successor_created = key.created_at
        to_retire = []
        for position, older in enumerate(active):
            expired = (now - successor_created).total_seconds() > site.session_lifetime
            if expired or position >= MAX_PREVIOUS_KEYS:
                to_retire.append(older.pk)
            successor_created = older.created_at
        if to_retire:
            SessionKey.objects.filter(pk__in=to_retire).update(retired_at=now)
        Activity.record(verb="session_key.rotate", site=site, actor=actor, detail=f"new key {key.kid}")
    return key


def session_keys_revoke(*, site: ProtectedSite, actor=None) -> SessionKey:
    """Sign everyone out: a new key, every other key dropped from the config,
    and the time recorded so that the next sign-ins must authenticate anew."""
    with transaction.atomic():
        now = timezone.now()
        # Recorded before the key is saved: the key's save publishes (after
        # commit) a config that carries both, so the edge then also demands a
        # fresh authentication at the provider, whose own session would sign
        # the viewer straight back in otherwise.
        ProtectedSite.objects.filter(pk=site.pk).update(sessions_revoked_at=now)
        site.sessions_revoked_at = now
        key = SessionKey.generate(site)
        key.save()
        site.session_keys.filter(retired_at=None).exclude(pk=key.pk).update(retired_at=now)
        Activity.record(verb="session_key.revoke", site=site, actor=actor, detail=f"everyone signed out; new key {key.kid}")
    return key
