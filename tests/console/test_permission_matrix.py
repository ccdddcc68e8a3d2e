"""Every URL the console serves, for every kind of visitor: who gets in, who is refused, how.

The URLs come from the resolver itself, so a new URL with no row in URLS
(or ADMIN_MODELS, for a model registered in the admin) fails
test_every_url_has_a_row. To add a URL: one row naming the action it needs
(sites/roles.py ACTIONS; None for a public page), what an allowed GET and an
empty POST answer (None: that method is refused with 405), and, for URL
parameters no other row uses, a value in `world`.

Visitors: anonymous, signed-in non-staff (bob), staff with no role (nora),
Viewer (vic), Operator (olga), Admin (ada). The rules:
- anonymous: a page sends them to the sign-in page; so does a POST;
- bob: 403 (staff only); nora: 403 with the "no role yet" page;
- a role below the row's action: 403; at or above it: the row's status;
- a method the row does not take: 405 for everybody (require_GET/POST sit
  outside the role check, so the answer gives nothing away);
- every POST row refuses a POST without the CSRF token, and a GET of it
  changes nothing (405, or the form page).
The API (/api/v1/, token authentication) adds its own rows with `api=True`;
rows whose URL name is not in the URLconf are skipped only under `api`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from sites.models import Activity, Build, ConfigRevision, Invitation, ShareLink, WebhookDelivery, WebhookEndpoint
from sites.roles import ACTIONS, ROLES
from tests.console.pages_support import bob, fast_passwords, live_site, provisioning_calls, release  # noqa: F401
from tests.console.roles_support import ada, nora, olga, vic  # noqa: F401


@dataclass(frozen=True)
class Row:
    action: str | None  # None: a public URL (sign-in, sign-out, ...)
    get: int | None = 200  # an allowed GET's status; None: GET refused with 405
    post: int | None = None  # an allowed empty POST's status; None: POST refused with 405
    api: bool = False  # token-authenticated: its own expectations (tests/api); here only "listed"


# name (namespace:name, or the route for an unnamed URL): Row
URLS: dict[str, Row] = {
    # Public: the way in and out.
    "login": Row(None, get=200, post=200),
    "logout": Row(None, get=None, post=302),
    "favicon.ico": Row(None, get=301, post=301),
    # Staff single sign-on: 404 while GATEHOUSE_STAFF_OIDC_* is unset (as here);
    # tests/console/test_staff_sso.py and tests/e2e/test_staff_sso.py cover it on.
    "oidc_authentication_init": Row(None, get=404),
    "oidc_authentication_callback": Row(None, get=404),
    # Reads: every role.
    "sites:dashboard": Row("view"),
    "sites:activity": Row("view"),
    "sites:site": Row("view"),
    "sites:site_deployments": Row("view"),
    "sites:builds": Row("view"),
    "sites:history": Row("view"),
    "sites:releases": Row("view", get=200),
    # Your own API tokens (any role); another's are revoked by an Admin (tests/api/test_tokens_page.py).
    "sites:tokens": Row("view", get=200, post=400),
    "sites:token_revoke": Row("view", get=None, post=302),
    "sites:release": Row("view"),
    "sites:release_progress": Row("view"),
    "sites:visits_csv": Row("view"),
    # Webhooks: every role reads the endpoints and their delivery logs; an Admin changes them.
    "sites:webhooks": Row("view", post=None),
    "sites:webhook": Row("view", post=None),
    # Operator.
    "sites:onboard": Row("onboard", get=200, post=200),  # an empty POST is an unbound form
    "sites:provider_check": Row("check_provider", get=None, post=200),
    "sites:edit": Row("edit", get=200, post=200),
    "sites:redeploy": Row("redeploy", get=None, post=302),
    "sites:extend": Row("extend", get=None, post=302),
    "sites:build_upload": Row("upload_build", get=None, post=400),
    "sites:build_make_live": Row("make_live", get=None, post=302),
    "sites:revision_restore": Row("restore_revision", get=None, post=302),
    "sites:revision_restore_confirm": Row("restore_revision", get=200),
    "sites:invitations_add": Row("invite", get=None, post=400),  # an empty POST: the form's errors
    "sites:invitation_resend": Row("invite", get=None, post=302),
    "sites:invitation_remove": Row("invite", get=None, post=302),
    "sites:share_link_add": Row("share_link", get=None, post=400),  # an empty POST: the form's errors
    "sites:share_link_revoke": Row("share_link", get=None, post=302),
    # Admin.
    "sites:sign_everyone_out": Row("sign_everyone_out", get=None, post=302),
    "sites:disable": Row("disable", get=None, post=302),
    "sites:enable": Row("enable", get=None, post=302),
    "sites:move_release": Row("move_release", get=None, post=400),
    "sites:delete": Row("delete", get=200, post=200),
    "sites:release_publish": Row("manage_releases", get=None, post=302),
    "sites:release_rollout": Row("rollout", get=None, post=302),
    "sites:webhook_new": Row("manage_webhooks", get=200, post=400),  # an empty POST: the form's errors
    "sites:webhook_edit": Row("manage_webhooks", get=200, post=400),
    "sites:webhook_disable": Row("manage_webhooks", get=None, post=302),
    "sites:webhook_enable": Row("manage_webhooks", get=None, post=302),
    "sites:webhook_delete": Row("manage_webhooks", get=None, post=302),
    "sites:webhook_redeliver": Row("manage_webhooks", get=None, post=302),
    # The API: token authentication, JSON errors; tests/api/test_api_permissions.py walks these rows
    # with a token of each persona and scope. get/post: what an allowed GET or empty POST answers.
    "api:schema": Row(None, get=200, api=True),
    "api:sites": Row("view", get=200, post=400, api=True),  # POST: onboard
    "api:site": Row("view", api=True),
    "api:site_access": Row("view", api=True),  # PATCH: edit
    "api:site_access_window": Row("view", api=True),  # PATCH: edit
    "api:site_redeploy": Row("redeploy", get=None, post=202, api=True),
    "api:invitations": Row("view", get=200, post=400, api=True),  # POST: invite
    "api:share_links": Row("view", get=200, post=400, api=True),  # POST: share_link
    "api:share_link_revoke": Row("share_link", get=None, post=200, api=True),
    "api:builds": Row("view", get=200, post=400, api=True),  # POST: upload_build
    "api:build": Row("view", api=True),
    "api:build_make_live": Row("make_live", get=None, post=200, api=True),
    "api:deploys": Row("upload_build", get=None, post=400, api=True),
    "api:deploy_file": Row("upload_build", get=None, api=True),  # PUT only
    "api:deploy_finalise": Row("upload_build", get=None, post=409, api=True),
    "api:deployments": Row("view", api=True),
    "api:deployment": Row("view", api=True),
    "api:releases": Row("view", api=True),
    "api:release": Row("view", api=True),
    "api:invitation": Row("invite", get=None, api=True),  # DELETE only
    "api:invitation_resend": Row("invite", get=None, post=202, api=True),
}

# The admin: sampled per registered model (its list, one object, its add page).
# model label: (action to add, action to change); None: nobody, in the admin.
# Users and groups are for superusers only: no role reaches them ("superuser");
# "admin only": the Admin role reads them, no role adds or edits them.
ADMIN_MODELS: dict[str, tuple[str | None, str | None]] = {
    "sites.identityprovider": ("manage_providers", "manage_providers"),
    "sites.protectedsite": ("onboard", "edit"),
    "sites.build": (None, None),  # made by uploads only (the builds page, the API)
    "sites.sessionkey": (None, None),
    "sites.configrevision": (None, None),
    "sites.deployment": (None, None),
    "sites.deploymentstep": (None, None),
    "sites.edgerelease": (None, None),
    "sites.activity": (None, None),
    "auth.user": ("superuser", "superuser"),
    "auth.group": ("superuser", "superuser"),
    # django-axes' records of sign-in attempts: the Admin role only (it unlocks by deleting an attempt).
    "axes.accessattempt": ("admin only", None),
    "axes.accesslog": ("admin only", None),
    "axes.accessfailurelog": ("admin only", None),
}

PERSONAS = ["anonymous", "bob", "nora", "vic", "olga", "ada"]
ROLE_OF = {"vic": "viewer", "olga": "operator", "ada": "admin"}


def _walk(patterns, prefix="", namespace=None, converters=()):
    """(row key, route, URL parameter names) of every URL, includes followed."""
    for pattern in patterns:
        names = (*converters, *pattern.pattern.converters)
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), full, names)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            key = (f"{namespace}:{pattern.name}" if namespace else pattern.name) if pattern.name else route
            yield key, route, names


def console_urls() -> dict[str, tuple[str, tuple]]:
    """Every URL in the URLconf but the admin's (sampled per model below): row key -> (route, parameters)."""
    return {
        key: (route, names)
        for key, route, names in _walk(get_resolver().url_patterns)
        if not (key.startswith("admin:") or route.startswith("admin/"))
    }


def test_every_url_has_a_row():
    urls = console_urls()
    assert sorted(set(urls) - set(URLS)) == [], "new URLs need a row in URLS"
    missing = sorted(name for name, row in URLS.items() if name not in urls and not (row.api or name.startswith("api")))
    assert missing == [], "rows for URLs that no longer exist"
    for name, row in URLS.items():
        assert row.action is None or row.action in ACTIONS, name


def test_every_admin_model_has_a_row():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS)


def test_every_action_is_needed_by_some_role_and_every_role_is_needed():
    assert set(ACTIONS.values()) == set(ROLES)


@pytest.fixture
def world(live_site, release, django_user_model):
    from django.contrib.auth.models import Group

    build = Build.objects.create(site=live_site, created_by=None, status=Build.Status.READY, prefix="builds/1")
    invitation = Invitation.objects.create(site=live_site, email="ann@client.example", status=Invitation.Status.SENT)
    # Deleted by the Admin's POST of its row: each test has its own world.
    endpoint = WebhookEndpoint(events=["build.live"])
    endpoint.url = "https://hooks.client.example/gatehouse"
    endpoint.save()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="build.live", message_id="msg_matrix", status=WebhookDelivery.Status.FAILED
    )
    link = ShareLink.objects.create(
        site=live_site, label="board meeting", public_id="bm12DecAb3_-", secret_sha256="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "invitation_id": invitation.pk,
        "link_id": link.pk,
        "slug": live_site.slug,
        "build_id": build.pk,
        "number": live_site.revisions.first().number,
        "pk": release.pk,
        "site": live_site,
        "release": release,
        "build": build,
        "group": Group.objects.get(name="Viewer"),
        "user": django_user_model.objects.get(username="alice"),
    }


def _url(name: str, world) -> str:
    route, parameters = console_urls()[name]
    if name == route:  # an unnamed URL: its row is keyed by its route
        return "/" + route
    # Each URL parameter's value comes from `world`, by the parameter's name.
    return reverse(name, kwargs={key: world[key] for key in parameters})


def _client(persona, users) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(users[persona])
    return client


@pytest.fixture
def users(bob, nora, vic, olga, ada):
    return {"bob": bob, "nora": nora, "vic": vic, "olga": olga, "ada": ada}


def _allowed(persona, action) -> bool:
    role = ROLE_OF.get(persona)
    return role is not None and ROLES.index(role) >= ROLES.index(ACTIONS[action])


def _expected(persona, row: Row, method: str):
    """(status, what it must look like) for this visitor."""
    wanted = row.get if method == "get" else row.post
    if wanted is None:
        return 405, None
    if row.action is None:
        return wanted, None
    if persona == "anonymous":
        return 302, "login"
    if persona == "bob":
        return 403, "Staff only"
    if persona == "nora":
        return 403, "No role yet"
    if not _allowed(persona, row.action):
        return 403, "Not allowed for your role"
    return wanted, None


SESSION_ROWS = [name for name, row in URLS.items() if not row.api and not name.startswith("api")]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", SESSION_ROWS)
def test_the_matrix(world, users, provisioning_calls, name, method):
    row = URLS[name]
    url = _url(name, world)
    wrong = []
    for persona in PERSONAS:  # least to most privileged: the allowed ones act last
        response = getattr(_client(persona, users), method)(url)
        status, look = _expected(persona, row, method)
        got = response.status_code
        if got != status:
            wrong.append(f"{persona}: {got}, expected {status}")
        elif look == "login":
            if not response["Location"].startswith(reverse("login") + "?next="):
                wrong.append(f"{persona}: to {response['Location']}, not the sign-in page")
        elif look and look not in response.content.decode():
            wrong.append(f"{persona}: a {status} page without {look!r}")
        if status == 403:
            assert provisioning_calls == [], f"{persona} started {provisioning_calls} on {name}"
    assert wrong == [], f"{method.upper()} {url}"


def _activity_and_revisions():
    return Activity.objects.count(), ConfigRevision.objects.count()


@pytest.mark.parametrize("name", [n for n in SESSION_ROWS if URLS[n].post and URLS[n].action])
def test_a_get_of_an_action_changes_nothing(world, ada, provisioning_calls, name):
    client = Client()
    client.force_login(ada)
    before = _activity_and_revisions()
    response = client.get(_url(name, world))
    assert response.status_code in (405, 200)
    if response.status_code == 200:
        assert b'method="post"' in response.content  # the form page, not the action
    assert provisioning_calls == []
    assert _activity_and_revisions() == before


@pytest.mark.parametrize("name", [n for n in SESSION_ROWS if URLS[n].post and URLS[n].action])
def test_an_action_needs_the_csrf_token(world, ada, provisioning_calls, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    before = _activity_and_revisions()
    response = client.post(_url(name, world))
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert provisioning_calls == []
    assert _activity_and_revisions() == before


# --- The admin, sampled per model ----------------------------------------------------------------


def _admin_urls(label, world):
    app, model = label.split(".")
    obj = {
        "sites.identityprovider": lambda: world["site"].provider,
        "sites.protectedsite": lambda: world["site"],
        "sites.build": lambda: world["build"],
        "sites.sessionkey": lambda: world["site"].session_keys.first(),
        "sites.configrevision": lambda: world["site"].revisions.first(),
        "sites.deployment": lambda: _deployment(world),
        "sites.deploymentstep": lambda: _deployment(world).steps.first(),
        "sites.edgerelease": lambda: world["release"],
        "sites.activity": lambda: Activity.objects.first(),
        "auth.user": lambda: world["user"],
        "auth.group": lambda: world["group"],
        "axes.accessattempt": lambda: AccessAttempt.objects.create(username="mallory", failures_since_start=1),
        "axes.accesslog": lambda: AccessLog.objects.create(username="mallory"),
        "axes.accessfailurelog": lambda: AccessFailureLog.objects.create(username="mallory"),
    }[label]()
    return {
        "changelist": reverse(f"admin:{app}_{model}_changelist"),
        "change": reverse(f"admin:{app}_{model}_change", args=[obj.pk]),
        "add": reverse(f"admin:{app}_{model}_add"),
    }


def _deployment(world):
    from sites.models import Deployment, DeploymentStep

    deployment = Deployment.objects.filter(site=world["site"]).first()
    if deployment is None:
        deployment = Deployment.objects.create(kind="redeploy", site=world["site"])
        DeploymentStep.objects.create(deployment=deployment, name="Config")
    return deployment


def _admin_expected(persona, label, page):
    """(status, whether the page offers a save) in the admin."""
    if persona in ("anonymous", "bob", "nora"):
        return 302, None  # the admin's own sign-in page ("not authorised" when signed in)
    add_action, change_action = ADMIN_MODELS[label]
    if add_action == "superuser":
        return 403, None
    if add_action == "admin only":
        if persona != "ada":
            return 403, None
        return (403, None) if page == "add" else (200, False)
    if page == "changelist":
        return 200, None
    if page == "add":
        return (200, True) if add_action and _allowed(persona, add_action) else (403, None)
    return 200, bool(change_action and _allowed(persona, change_action))


@pytest.mark.parametrize("label", list(ADMIN_MODELS))
def test_the_admin_matrix(world, users, sent_tasks, label):
    urls = _admin_urls(label, world)
    wrong = []
    for persona in PERSONAS:
        client = _client(persona, users)
        for page, url in urls.items():
            response = client.get(url)
            status, saves = _admin_expected(persona, label, page)
            if response.status_code != status:
                wrong.append(f"{persona} {page}: {response.status_code}, expected {status}")
            elif status == 302 and not response["Location"].startswith(reverse("admin:login")):
                wrong.append(f"{persona} {page}: to {response['Location']}")
            elif saves is not None and (b'name="_save"' in response.content) != saves:
                wrong.append(f"{persona} {page}: save button {'missing' if saves else 'offered'}")
    assert wrong == []

