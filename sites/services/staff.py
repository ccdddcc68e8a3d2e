"""Staff who sign in with the company's OpenID Connect provider: who gets in, with which role.

The provider's claims are already verified (signature, issuer, audience,
nonce) by the time they reach here (sites/staff_auth.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..models import Activity, StaffIdentity
from ..roles import ROLES, role_assign, role_of


@dataclass(frozen=True)
class StaffSignIn:
    user: object | None
    refusal: str = ""  # for the person, when user is None


def staff_role_from_claims(claims: dict) -> str | None:
    """The highest role the mapped groups give, or None."""
    value = claims.get(settings.GATEHOUSE_STAFF_OIDC_ROLE_CLAIM)
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = settings.GATEHOUSE_STAFF_OIDC_ROLE_MAP
    roles = {mapping[group] for group in groups if isinstance(group, str) and group in mapping}
    return max(roles, key=ROLES.index) if roles else None


def _verified_domain(claims: dict) -> str | None:
    email = claims.get("email")
    # Only an address the provider says it verified; "true" as a string is
    # what some providers send.
    if not isinstance(email, str) or claims.get("email_verified") not in (True, "true"):
        return None
    local, at, domain = email.rpartition("@")
    return domain.lower() if at and local else None


def _username(claims: dict, subject: str) -> str:
    User = get_user_model()
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    preferred = claims.get("preferred_username") if isinstance(claims.get("preferred_username"), str) else ""
    base = (email or preferred or f"sso-{subject}")[:140]
    candidate, n = base, 1
    # Never the name of an existing account: a local password account with
    # the same address stays its own.
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def staff_sign_in(*, issuer: str, claims: dict) -> StaffSignIn:
    """The staff account for these claims, made or updated; its role set from the mapped groups.

    In: anyone whose groups map to a role, or whose verified e-mail is in an
    allowed domain (with no role until an admin gives one). With a role map
    configured, each sign-in sets the role from the claim (the provider
    decides; leaving the group removes the role).
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return StaffSignIn(None, "The provider sent no subject.")
    role = staff_role_from_claims(claims)
    domain_allowed = _verified_domain(claims) in settings.GATEHOUSE_STAFF_OIDC_EMAIL_DOMAINS
    if role is None and not domain_allowed:
        return StaffSignIn(None, "Your account there has no Gatehouse role. Ask an admin to add you to a Gatehouse group.")
    User = get_user_model()
    with transaction.atomic():
        identity = StaffIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity is None:
            email = claims["email"][:254] if isinstance(claims.get("email"), str) else ""
            user = User.objects.create_user(_username(claims, subject), email=email, is_staff=True)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            identity = StaffIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            Activity.record(verb="staff.created", actor=user, detail=f"first sign-in through {issuer}")
        user = identity.user
        if not user.is_active:
            return StaffSignIn(None, "This staff account is switched off. Ask an admin.")
        updates = {
            "first_name": (claims.get("given_name") or "")[:150] if isinstance(claims.get("given_name"), str) else user.first_name,
            "last_name": (claims.get("family_name") or "")[:150] if isinstance(claims.get("family_name"), str) else user.last_name,
            "is_staff": True,
        }
        if isinstance(claims.get("email"), str):
            updates["email"] = claims["email"][:254]
        for field, value in updates.items():
            setattr(user, field, value)
        user.save(update_fields=list(updates))
        if settings.GATEHOUSE_STAFF_OIDC_ROLE_MAP:
            before = role_of(user)
            role_assign(user=user, role=role)
            if before != role:
                Activity.record(verb="staff.role", actor=user, detail=f"role {role or 'none'} from the provider's groups")
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["last_sign_in_at"])
    return StaffSignIn(user)
