"""Personal API tokens: made, found from a request's header, revoked.

A token is "gh_<key_id>_<secret>". Only the SHA-256 of the secret is kept
(the secret is 256 random bits, so a fast hash is enough: there is nothing
to guess); the key id finds the row and the digests are compared with
hmac.compare_digest. The whole token is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Activity, ApiToken, ProtectedSite

PREFIX = "gh_"
# last_used_at is written at most this often per token: a CI job polling a
# deployment does not make a write of every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LIFETIME = timedelta(days=366)


class TokenRefused(Exception):
    """The header's token cannot be used; the message says why, for a person."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *, user, name: str, expires_at: datetime, scope: str, sites: list[ProtectedSite] | tuple = ()
) -> tuple[ApiToken, str]:
    """Make a token; (its row, the token itself: shown once, never stored)."""
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, key_id=key_id, secret_sha256=_digest(secret), scope=scope, expires_at=expires_at
        )
        if scope == ApiToken.Scope.DEPLOY:
            token.sites.set(sites)
        Activity.record(verb="token.create", actor=user, detail=f"token '{name}' ({token.get_scope_display().lower()})")
    return token, f"{PREFIX}{key_id}_{secret}"


def token_authenticate(raw: str) -> ApiToken:
    """The active token this header value names, or TokenRefused."""
    if not raw.startswith(PREFIX) or raw.count("_") < 2:
        raise TokenRefused("That is not a Gatehouse API token (they start with gh_); make one on the API tokens page.")
    key_id, _, secret = raw[len(PREFIX):].partition("_")
    token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    # Compared even when no row was found, so the answer takes as long either way.
    expected = token.secret_sha256 if token else "0" * 64
    if not hmac.compare_digest(_digest(secret), expected) or token is None:
        raise TokenRefused("The API token is not valid; check GATEHOUSE_TOKEN, or make a new token.")
    if token.revoked_at:
        raise TokenRefused(f"The API token '{token.name}' was revoked; make a new one on the API tokens page.")
    now = timezone.now()
    if token.expires_at <= now:
        raise TokenRefused(f"The API token '{token.name}' expired on {token.expires_at:%d %b %Y}; make a new one.")
    if not token.user.is_active:
        raise TokenRefused("The account this token belongs to is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken, actor) -> bool:
    """Revoke the token now; False when it already was."""
    with transaction.atomic():
        done = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now(), revoked_by=actor)
        if done:
            whose = "their own" if actor.pk == token.user_id else f"{token.user.get_username()}'s"
            Activity.record(verb="token.revoke", actor=actor, detail=f"{whose} token '{token.name}'")
    token.refresh_from_db()
    return bool(done)

