"""Staff roles: viewer, operator, admin, as Django groups holding permissions.

One table (ACTIONS) says which role each action needs; views, the admin,
the API and the templates all ask `can(user, action)`. A role is the set of
permissions its group holds, so a site's own Django admin can grant one
permission to one person without inventing a fourth role.

- viewer: reads everything.
- operator: onboards, uploads builds, edits access rules, redeploys,
  extends access, invites people, makes share links.
- admin: deletes, signs everyone out, disables, manages providers and edge
  releases, rolls releases out, manages webhooks and other people's tokens.

Superusers hold every permission. A staff account in no group can sign in
and is told it has no role yet; it can do nothing else.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

# The permission each role adds; a role holds its own and those below it.
PERMISSIONS = {
    VIEWER: ("view_console", "Can read every console page"),
    OPERATOR: ("operate_sites", "Can onboard, upload builds, edit access, redeploy"),
    ADMIN: ("administer_sites", "Can delete, disable, manage providers and releases"),
}
GROUP_NAMES = {VIEWER: "Viewer", OPERATOR: "Operator", ADMIN: "Admin"}

ACTIONS = {
    "view": VIEWER,
    "onboard": OPERATOR,
    "upload_build": OPERATOR,
    "make_live": OPERATOR,
    "edit": OPERATOR,
    "restore_revision": OPERATOR,
    "redeploy": OPERATOR,
    "extend": OPERATOR,
    "check_provider": OPERATOR,
    "invite": OPERATOR,
    "share_link": OPERATOR,
    "delete": ADMIN,
    "sign_everyone_out": ADMIN,
    "disable": ADMIN,
    "enable": ADMIN,
    "move_release": ADMIN,
    "manage_providers": ADMIN,
    "manage_releases": ADMIN,
    "rollout": ADMIN,
    "manage_webhooks": ADMIN,
    "manage_tokens": ADMIN,
}


def permission_for(role: str) -> str:
    return f"sites.{PERMISSIONS[role][0]}"


def can(user, action: str) -> bool:
    """Whether this user may do this action (a name in ACTIONS)."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    return user.has_perm(permission_for(ACTIONS[action]))


def role_of(user) -> str | None:
    """The highest role the user holds, or None."""
    for role in reversed(ROLES):
        if user.is_authenticated and user.is_active and user.is_staff and user.has_perm(permission_for(role)):
            return role
    return None


def allowed_actions(user) -> frozenset[str]:
    return frozenset(action for action in ACTIONS if can(user, action))


def role_required(action: str):
    """Anonymous: to the sign-in page. Signed in without the role: 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(user, action):
                raise PermissionDenied(f"Your role does not allow this ({ACTIONS[action]} needed).")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
