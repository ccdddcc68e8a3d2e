"""Invitations through the API: the site page's form and service (addresses allowed, then sent from a task)."""

import pytest
from django.urls import reverse

from sites.models import Activity, Invitation
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


def test_an_operator_invites_addresses_which_join_the_allowed_emails(api_as, olga, live_site, sent_tasks, django_capture_on_commit_callbacks):
    client = api_as(olga, scope="all")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:invitations", args=[live_site.slug]), {"emails": ["Bea@Client.example", "cy@client.example"]}, format="json"
        )
    assert response.status_code == 201, response.content
    assert [i["email"] for i in response.json()["invitations"]] == ["bea@client.example", "cy@client.example"]
    live_site.refresh_from_db()
    assert {"bea@client.example", "cy@client.example"} <= set(live_site.emails)
    assert len(sent_tasks.of("sites.tasks.invitation_send_task")) == 2
    row = Activity.objects.get(verb="site.invite", site=live_site)
    assert row.who == f"olga's token '{row.token.name}'"
    listed = client.get(reverse("api:invitations", args=[live_site.slug])).json()
    assert [i["email"] for i in listed] == ["bea@client.example", "cy@client.example"]


def test_a_bad_address_is_refused_with_the_forms_words(api_as, olga, live_site):
    client = api_as(olga, scope="all")
    response = client.post(reverse("api:invitations", args=[live_site.slug]), {"emails": ["not an address"]}, format="json")
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "validation_failed" and "Not an e-mail address" in message
    assert not Invitation.objects.exists()


def test_a_deploy_token_may_not_invite(api_as, olga, live_site):
    client = api_as(olga, scope="deploy", sites=[live_site])
    response = client.post(reverse("api:invitations", args=[live_site.slug]), {"emails": ["bea@client.example"]}, format="json")
    assert response.status_code == 403 and error_of(response)[0] == "scope_forbidden"


def test_a_viewer_may_read_but_not_invite(api_as, vic, live_site):
    client = api_as(vic, scope="all")
    assert client.get(reverse("api:invitations", args=[live_site.slug])).status_code == 200
    response = client.post(reverse("api:invitations", args=[live_site.slug]), {"emails": ["bea@client.example"]}, format="json")
    assert response.status_code == 403 and error_of(response)[0] == "role_forbidden"
