"""Pages say what the signed-in role allows and show only the buttons it can use."""

import pytest
from django.urls import reverse

from tests.console.pages_support import fast_passwords, live_site, release  # noqa: F401
from tests.console.roles_support import ada, nora, olga, vic  # noqa: F401

REDEPLOY = b'action="/sites/acme-demo/redeploy/"'
UPLOAD = b'action="/sites/acme-demo/builds/upload/"'
EXTEND = b'action="/sites/acme-demo/extend/"'
EDIT = b'href="/sites/acme-demo/edit/"'
SIGN_OUT = b'action="/sites/acme-demo/sign-everyone-out/"'
DISABLE = b'action="/sites/acme-demo/disable/"'
MOVE = b"<h3>Move to another edge release</h3>"
DELETE = b'href="/sites/acme-demo/delete/"'
OPERATOR_CONTROLS = [REDEPLOY, UPLOAD, EXTEND, EDIT]
ADMIN_CONTROLS = [SIGN_OUT, DISABLE, MOVE, DELETE]


def _site_page(client, user, site):
    client.force_login(user)
    response = client.get(reverse("sites:site", args=[site.slug]))
    assert response.status_code == 200
    return response.content


def test_a_viewer_sees_the_site_without_any_action(client, vic, live_site):
    page = _site_page(client, vic, live_site)
    for control in OPERATOR_CONTROLS + ADMIN_CONTROLS:
        assert control not in page, control
    assert b"As a Viewer you can read this site" in page


def test_an_operator_sees_operator_actions_but_not_admin_ones(client, olga, live_site):
    page = _site_page(client, olga, live_site)
    for control in OPERATOR_CONTROLS:
        assert control in page, control
    for control in ADMIN_CONTROLS:
        assert control not in page, control
    assert b"need an Admin" in page


def test_an_admin_sees_every_action(client, ada, live_site):
    page = _site_page(client, ada, live_site)
    for control in OPERATOR_CONTROLS + ADMIN_CONTROLS:
        assert control in page, control
    assert b'id="role-actions-note"' not in page


@pytest.mark.parametrize(
    "persona, words",
    [
        ("vic", "You are a Viewer: you can read every page"),
        ("olga", "You are an Operator: you can onboard sites"),
        ("ada", "You are an Admin: you can do everything an operator does"),
    ],
)
def test_the_dashboard_says_what_the_role_allows(client, request, persona, words):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    page = client.get(reverse("sites:dashboard")).content.decode()
    assert words in page
    assert ('href="/onboard/"' in page) == (persona != "vic")


def test_staff_with_no_role_are_told_to_ask_an_admin(client, nora):
    client.force_login(nora)
    response = client.get(reverse("sites:dashboard"))
    assert response.status_code == 403
    page = response.content.decode()
    assert '<h1 id="error-h">No role yet</h1>' in page
    assert "Ask an admin to give you a role" in page
    assert 'aria-label="Main"' not in page


def test_a_viewer_refused_an_action_is_told_their_role(client, vic, live_site):
    client.force_login(vic)
    response = client.get(reverse("sites:edit", args=[live_site.slug]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not allowed for your role" in page
    assert "a Viewer: you can read every page" in page


def test_viewers_see_no_publish_roll_out_make_live_or_restore(client, vic, live_site, release):
    client.force_login(vic)
    releases = client.get(reverse("sites:releases")).content
    assert b'action="/releases/publish/"' not in releases
    detail = client.get(reverse("sites:release", args=[release.pk])).content
    assert b"Rolling a release out needs an Admin." in detail
    assert b"/roll-out/" not in detail
    builds = client.get(reverse("sites:builds", args=[live_site.slug])).content
    assert b"make-live" not in builds and UPLOAD not in builds
    history = client.get(reverse("sites:history", args=[live_site.slug])).content
    assert b"/restore/" not in history
