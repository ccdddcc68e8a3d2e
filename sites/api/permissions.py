"""Who may call what: the same role table as the pages (sites.roles.ACTIONS), narrowed by the token's scope.

Each view names the action of each method (`actions = {"GET": "view", "POST": "upload_build"}`).
The user's role must allow it (`can()`), and so must the token:
- read: only "view";
- deploy: "view", and the deploy actions on the sites the token names;
- all: whatever the role allows.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from ..models import ApiToken
from ..roles import ACTIONS, GROUP_NAMES, can, role_of

READ_ACTIONS = frozenset({"view"})
DEPLOY_ACTIONS = frozenset({"upload_build", "make_live", "redeploy"})


class RoleForbidden(exceptions.PermissionDenied):
    default_code = "role_forbidden"


class NoRole(exceptions.PermissionDenied):
    default_code = "no_role"
    default_detail = "Your account has no role in Gatehouse yet; an Admin gives you one."


class ScopeForbidden(exceptions.PermissionDenied):
    default_code = "scope_forbidden"


class NotAuthenticated(exceptions.NotAuthenticated):
    default_detail = "Send a personal API token: 'Authorization: Bearer gh_…' (GATEHOUSE_TOKEN for the CLI)."


def action_of(view, method: str) -> str | None:
    actions = getattr(view, "actions", {})
    return actions.get("GET" if method == "HEAD" else method)


def token_allows(token: ApiToken, action: str, site_slug: str | None) -> bool:
    if token.scope == ApiToken.Scope.ALL or action in READ_ACTIONS:
        return True
    if token.scope == ApiToken.Scope.DEPLOY and action in DEPLOY_ACTIONS and site_slug:
        return token.sites.filter(slug=site_slug).exists()
    return False


class RolePermission(permissions.BasePermission):
    def has_permission(self, request, view):
        action = action_of(view, request.method)
        if action is None:
            return True  # a public view, or a method the view refuses with 405
        if request.user is None or not request.user.is_authenticated:
            raise NotAuthenticated()
        if role_of(request.user) is None:
            raise NoRole()
        if not can(request.user, action):
            role = GROUP_NAMES[ACTIONS[action]]
            raise RoleForbidden(f"Your role does not allow this ({role} needed for '{action}').")
        token = request.auth
        if isinstance(token, ApiToken) and not token_allows(token, action, view.kwargs.get("slug")):
            if token.scope == ApiToken.Scope.DEPLOY and action in DEPLOY_ACTIONS:
                where = f"site '{view.kwargs.get('slug')}'"
                raise ScopeForbidden(
                    f"The token '{token.name}' may not deploy to {where}; add the site to a token with deploy scope."
                )
            raise ScopeForbidden(
                f"The token '{token.name}' is {token.get_scope_display().lower()} and may not '{action}'; "
                "use a token with a wider scope."
            )
        return True
