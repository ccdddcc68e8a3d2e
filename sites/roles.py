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
# "You are an Operator": the name with its article, for sentences.
ROLE_TITLES = {VIEWER: "a Viewer", OPERATOR: "an Operator", ADMIN: "an Admin"}

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
    "rotate_session_key": ADMIN,
    "unlock_staff": ADMIN,
    "disable": ADMIN,
    "enable": ADMIN,
    "move_release": ADMIN,
    "manage_providers": ADMIN,
    "manage_releases": ADMIN,
    "rollout": ADMIN,
    "manage_webhooks": ADMIN,
    "manage_tokens": ADMIN,
}


def roles_ensure(using: str = "default", **kwargs) -> None:
    """The three groups with their permissions, made if missing.

    Migration 0008 makes them once; this runs after every migrate and flush
    (post_migrate), so a database emptied by a flush (Django's transactional
    tests) still has the roles staff are given.
    """
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.db_manager(using).get_or_create(app_label="sites", model="protectedsite")[0]
    held = []
    for role in ROLES:
        codename, name = PERMISSIONS[role]
        held.append(
            Permission.objects.db_manager(using).get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )[0]
        )
        group = Group.objects.db_manager(using).get_or_create(name=GROUP_NAMES[role])[0]
        group.permissions.add(*held)


def role_assign(*, user, role: str | None) -> None:
    """Give the user exactly this role (None: no role), keeping any other groups."""
    from django.contrib.auth.models import Group

    roles_ensure()
    user.groups.remove(*Group.objects.filter(name__in=GROUP_NAMES.values()))
    if role is not None:
        user.groups.add(Group.objects.get(name=GROUP_NAMES[role]))
    # has_perm caches what it read: the next check sees the new role.
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


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
    """Anonymous: to the sign-in page. Signed in without the role: 403.

    Django's own staff_member_required sends non-staff to the sign-in page
    too, and since they are already signed in that page sends them back:
    a loop. A 403 tells them plainly (templates/403.html says which case:
    not staff, staff with no role yet, or a role that does not reach).
    """
    if action not in ACTIONS:
        raise KeyError(f"{action!r} is not in sites.roles.ACTIONS")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff):
                raise PermissionDenied("Gatehouse is for staff only.")
            if not can(user, action):
                raise PermissionDenied(f"Your role does not allow this ({ACTIONS[action]} needed).")
            return view(request, *args, **kwargs)

        wrapper.required_action = action
        return wrapper

    return decorator


# What each role may do, in words, for the header and the no-role page.
ROLE_SUMMARIES = {
    VIEWER: "read every page: sites, builds, history, deployments, edge releases and activity",
    OPERATOR: "onboard sites, upload builds and make them live, edit access rules, restore revisions, "
    "redeploy, extend access and invite people",
    ADMIN: "do everything an operator does, and delete sites, sign everyone out, disable and enable sites, "
    "manage identity providers, edge releases and webhooks, and roll releases out",
}


def context_processor(request):
    """`role`, `role_name`, `role_title`, `role_summary` and `perms_can` (the actions allowed) for every template.

    Lazy, so pages that never ask (the sign-in page) cost no permission query.
    """
    from django.utils.functional import SimpleLazyObject

    user = getattr(request, "user", None)
    if user is None:
        return {}
    role = SimpleLazyObject(lambda: role_of(user) or "")
    return {
        "role": role,
        "role_name": SimpleLazyObject(lambda: GROUP_NAMES.get(role_of(user), "")),
        "role_title": SimpleLazyObject(lambda: ROLE_TITLES.get(role_of(user), "")),
        "role_summary": SimpleLazyObject(lambda: ROLE_SUMMARIES.get(role_of(user), "")),
        "perms_can": SimpleLazyObject(lambda: allowed_actions(user)),
    }
