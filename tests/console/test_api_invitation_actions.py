"""One invitation through the API: resend it, remove it (and the address from the allowed e-mails), as the People card does."""

import pytest
from django.urls import reverse

from sites.models import Activity, Invitation
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(live_site):
    """ann is on the site's allowed e-mails and was invited; her message failed to go."""
    return Invitation.objects.create(site=live_site, email="ann@client.example", status=Invitation.Status.FAILED, last_error="SES said no")


def test_an_invitation_is_sent_again(api_as, olga, live_site, invited, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(olga).post(reverse("api:invitation_resend", args=[live_site.slug, "Ann@Client.example"]))
    assert response.status_code == 202, response.content
    assert response.json() == {"email": "ann@client.example", "status": "pending"}
    invited.refresh_from_db()
    assert invited.status == "pending" and invited.last_error == ""
    assert sent_tasks.of("sites.tasks.invitation_send_task") == [(invited.pk,)]
    row = Activity.objects.get(verb="site.invite_resend")
    assert row.detail == "ann@client.example" and row.who.startswith("olga's token")


def test_an_invitation_is_removed_with_the_address(api_as, olga, live_site, invited, sent_tasks):
    assert "ann@client.example" in live_site.emails
    response = api_as(olga).delete(reverse("api:invitation", args=[live_site.slug, "ann@client.example"]))
    assert response.status_code == 204, response.content
    live_site.refresh_from_db()
    assert "ann@client.example" not in live_site.emails
    assert not Invitation.objects.filter(pk=invited.pk).exists()
    again = api_as(olga).delete(reverse("api:invitation", args=[live_site.slug, "ann@client.example"]))
    assert again.status_code == 404 and error_of(again)[0] == "not_found"


def test_no_such_invitation_is_404(api_as, olga, live_site):
    response = api_as(olga).post(reverse("api:invitation_resend", args=[live_site.slug, "nobody@client.example"]))
    assert response.status_code == 404 and error_of(response)[0] == "not_found"


def test_inviting_needs_an_operator_and_a_token_of_all_scope(api_as, olga, vic, live_site, invited):
    url = reverse("api:invitation", args=[live_site.slug, "ann@client.example"])
    assert error_of(api_as(vic).delete(url))[0] == "role_forbidden"
    assert error_of(api_as(olga, scope="read").delete(url))[0] == "scope_forbidden"
    # Inviting is not deploying: a deploy token for this very site may not.
    assert error_of(api_as(olga, scope="deploy", sites=[live_site]).delete(url))[0] == "scope_forbidden"
    assert Invitation.objects.filter(pk=invited.pk).exists()
