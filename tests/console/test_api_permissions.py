"""The API's permission matrix: every API row of tests/console/test_permission_matrix.py, for every persona and token scope.

- no token: 401 not_authenticated; a token that is not one: 401 token_refused;
- a role below the row's action: 403 role_forbidden (the page's own rule, `can()`);
- a read-only token: reads only (403 scope_forbidden);
- a deploy token: reads, and deploys to the sites it names only;
- a method the view does not take: 405 for everybody who gets that far.
"""

import pytest
from django.urls import reverse

from sites.models import ApiToken, Build
from sites.roles import ACTIONS, ROLES
from tests.console.api_support import api_as, client_with, error_of  # noqa: F401
from tests.console.pages_support import bob, live_site, release  # noqa: F401
from tests.console.roles_support import ada, nora, olga, vic  # noqa: F401
from tests.console.test_permission_matrix import URLS, console_urls

API_ROWS = [name for name, row in URLS.items() if row.api]
DEPLOY_ACTIONS = {"upload_build", "make_live", "redeploy"}

# Each API URL's methods: (the action it needs, what an allowed call with an empty body answers).
# Methods not listed answer 405 to everybody. test_the_views_name_these_actions keeps the views to it.
METHODS = {
    "api:schema": {"GET": (None, 200)},
    "api:sites": {"GET": ("view", 200), "POST": ("onboard", 400)},
    "api:site": {"GET": ("view", 200)},
    "api:site_access": {"GET": ("view", 200), "PATCH": ("edit", 200)},
    "api:site_access_window": {"GET": ("view", 200), "PATCH": ("edit", 200)},
    "api:site_redeploy": {"POST": ("redeploy", 202)},
    "api:invitations": {"GET": ("view", 200), "POST": ("invite", 400)},
    "api:share_links": {"GET": ("view", 200), "POST": ("share_link", 400)},
    "api:share_link_revoke": {"POST": ("share_link", 200)},
    "api:builds": {"GET": ("view", 200), "POST": ("upload_build", 400)},
    "api:build": {"GET": ("view", 200)},
    "api:build_make_live": {"POST": ("make_live", 200)},
    "api:deploys": {"POST": ("upload_build", 400)},
    "api:deploy_file": {"PUT": ("upload_build", 400)},  # the world's build is a zip build: it takes no files
    "api:deploy_finalise": {"POST": ("upload_build", 400)},
    "api:deployments": {"GET": ("view", 200)},
    "api:deployment": {"GET": ("view", 200)},
    "api:releases": {"GET": ("view", 200)},
    "api:release": {"GET": ("view", 200)},
    "api:invitation": {"DELETE": ("invite", 204)},
    "api:invitation_resend": {"POST": ("invite", 202)},
}


@pytest.fixture
def world(live_site, release, sent_tasks):
    build = Build.objects.create(site=live_site, status=Build.Status.READY, prefix="builds/1")
    from sites.models import Deployment

    deployment = Deployment.objects.create(kind="redeploy", site=live_site)
    from datetime import timedelta

    from django.utils import timezone

    from sites.models import ShareLink

    link = ShareLink.objects.create(
        site=live_site, label="board meeting", public_id="bm12DecAb3_-", secret_sha256="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        "slug": live_site.slug, "build_number": build.number, "pk": release.pk, "deployment_id": deployment.pk,
        "sha256": "0" * 64, "site": live_site, "link_id": link.pk, "email": "ann@client.example",
    }


def _invite(world):
    """The world's invitation, there again for each call (a DELETE that passes removes it)."""
    from sites.models import Invitation

    Invitation.objects.get_or_create(site=world["site"], email=world["email"])


def _url(name, world):
    _route, parameters = console_urls()[name]
    return reverse(name, kwargs={key: world[key] for key in parameters})


def _call(client, name, method, world):
    url = _url(name, world)
    _invite(world)
    if method == "PUT":
        return client.put(url, b"", content_type="application/octet-stream")
    if name == "api:builds" and method == "POST":
        return client.post(url, {}, format="multipart")  # a zip upload: JSON is 415
    if method in ("POST", "PATCH"):
        return getattr(client, method.lower())(url, {}, format="json")
    return getattr(client, method.lower())(url)


def _expected(name, method, role, scope):
    if method not in METHODS[name]:
        return 405, "method_not_allowed"
    action, wanted = METHODS[name][method]
    if action is None:
        return wanted, None
    if role is None:
        return 403, "no_role"
    if ROLES.index(role) < ROLES.index(ACTIONS[action]):
        return 403, "role_forbidden"
    if scope == "read" and action != "view":
        return 403, "scope_forbidden"
    if scope == "deploy" and action != "view" and action not in DEPLOY_ACTIONS:
        return 403, "scope_forbidden"
    return wanted, None


def test_the_views_name_these_actions():
    from django.urls import resolve

    for name, methods in METHODS.items():
        view = resolve(_url(name, WORLD_KEYS)).func.view_class
        named = {m: a for m, (a, _status) in methods.items() if a}
        assert getattr(view, "actions", {}) == named, name


# URL parameters, only for resolving (any value of the right type).
WORLD_KEYS = {"slug": "x", "build_number": 1, "pk": 1, "deployment_id": 1, "sha256": "0" * 64, "link_id": 1, "email": "a@b.example"}


def test_every_api_url_is_in_the_matrix():
    assert sorted(name for name in console_urls() if name.startswith("api:")) == sorted(API_ROWS)


@pytest.mark.parametrize("name", API_ROWS)
def test_the_api_matrix(world, api_as, nora, vic, olga, ada, name):
    wrong = []
    people = {
        "nora": (nora, None, ["all"]),
        "vic": (vic, "viewer", ["read", "all"]),
        "olga": (olga, "operator", ["read", "deploy", "all"]),
        "ada": (ada, "admin", ["deploy", "all"]),
    }
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        for persona, (user, role, scopes) in people.items():
            for scope in scopes:
                sites = [world["site"]] if scope == "deploy" else []
                response = _call(api_as(user, scope=scope, sites=sites), name, method, world)
                status, code = _expected(name, method, role, scope)
                if response.status_code != status:
                    wrong.append(f"{method} {persona}/{scope}: {response.status_code}, expected {status}: {response.content[:160]}")
                elif code and response["Content-Type"] == "application/json" and error_of(response)[0] != code:
                    wrong.append(f"{method} {persona}/{scope}: code {error_of(response)[0]}, expected {code}")
    assert wrong == [], name


@pytest.mark.parametrize("name", [n for n in API_ROWS if URLS[n].action])
def test_no_token_or_a_bad_one_is_401_with_a_code(world, name):
    method = next(iter(METHODS[name]))
    response = _call(client_with(None), name, method, world)
    assert response.status_code == 401 and error_of(response)[0] == "not_authenticated"
    assert "GATEHOUSE_TOKEN" in error_of(response)[1]
    response = _call(client_with("gh_nope_nope"), name, method, world)
    assert response.status_code == 401 and error_of(response)[0] == "token_refused"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_deploy_token_deploys_only_to_its_own_sites(world, api_as, olga, provider):
    from sites.services.sites import site_create

    other = site_create(client="Beta", name="Other", slug="beta-other", provider=provider, allow_any_user=True)
    client = api_as(olga, scope=ApiToken.Scope.DEPLOY, sites=[world["site"]])
    refused = client.post(reverse("api:site_redeploy", args=[other.slug]))
    assert refused.status_code == 403
    code, message = error_of(refused)
    assert code == "scope_forbidden" and "beta-other" in message
    assert client.get(reverse("api:site", args=[other.slug])).status_code == 200  # reading is fine
    assert client.post(reverse("api:site_redeploy", args=[world["slug"]])).status_code == 202


def test_a_session_is_not_enough_for_the_api(world, client, ada):
    client.force_login(ada)
    response = client.get(reverse("api:sites"))
    assert response.status_code == 401
