"""Invitations: staff add client addresses; each is allowed and sent an e-mail through SES (moto's server)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from sites.models import Invitation, ProtectedSite, Visit
from sites.services import invitations
from sites.tasks import invitation_send_task
from tests.console.aws_support import ses_identity_verify, aws, parts, ses_sent  # noqa: F401
from tests.console.pages_support import staff_client  # noqa: F401
from tests.console.roles_support import olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def ses(aws, settings, tasks_run_in_place):  # noqa: F811
    settings.GATEHOUSE_CONSULTANCY_NAME = "Northwind Consulting"
    settings.GATEHOUSE_EMAIL_FROM = "demos@northwind.example"
    settings.GATEHOUSE_SES_REGION = "eu-west-1"
    ses_identity_verify("demos@northwind.example", "eu-west-1")
    return aws


def invite(client, site, emails):
    return client.post(reverse("sites:invitations_add", args=[site.slug]), {"emails": emails})


def test_an_invitation_allows_the_address_and_sends_a_branded_text_and_html_email(ses, site, olga, client, django_capture_on_commit_callbacks, settings):  # noqa: F811
    site.not_after = timezone.now() + timedelta(days=20)
    site.save()
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, site, "Carol@Client.example, dave@client.example")
    assert response.status_code == 302
    site.refresh_from_db()
    assert {"carol@client.example", "dave@client.example"} <= set(site.emails)
    assert set(Invitation.objects.values_list("email", "status")) == {
        ("carol@client.example", "sent"),
        ("dave@client.example", "sent"),
    }
    sent = {m["To"]: m for m in ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)}
    message = sent["carol@client.example"]
    assert message["From"] == "Northwind Consulting <demos@northwind.example>"
    assert "Northwind Consulting" in message["Subject"] and site.name in message["Subject"]
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert site.name in text
        assert "http://demo.acme.example:8080/" in text  # the demo's address
        assert "sign in with Acme Auth0 as carol@client.example" in text
        assert f"{site.not_after:%Y}" in text and "Access ends on" in text
    assert Invitation.objects.get(email="carol@client.example").sent_at is not None


def test_the_send_waits_for_the_commit(site, olga, client, sent_tasks):  # noqa: F811
    client.force_login(olga)
    invite(client, site, "carol@client.example")
    # Nothing was sent while the transaction was open; the row exists first.
    assert sent_tasks.of("sites.tasks.invitation_send_task") == []


def test_a_refused_send_is_recorded_and_a_resend_after_the_fix_goes_out(ses, site, olga, client, django_capture_on_commit_callbacks, settings):  # noqa: F811
    settings.GATEHOUSE_EMAIL_FROM = "unverified@northwind.example"
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, site, "carol@client.example")
    invitation = Invitation.objects.get()
    assert invitation.status == "failed" and "authority to send from" in invitation.last_error
    site.refresh_from_db()
    assert "carol@client.example" in site.emails  # the invitation and the allowed address both stand
    page = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    assert "not sent:" in page
    settings.GATEHOUSE_EMAIL_FROM = "demos@northwind.example"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sites:invitation_resend", args=[site.slug, invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.last_error == "" and invitation.attempts == 2


def test_a_transient_failure_is_retried_by_the_task(ses, site, monkeypatch):  # noqa: F811
    invitation = Invitation.objects.create(site=site, email="carol@client.example")
    real, calls = ses.email_send_raw, []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ses.AwsTransientError("send_email: Throttling", code="Throttling")
        return real(**kwargs)

    monkeypatch.setattr(ses, "email_send_raw", flaky)
    assert invitation_send_task.apply(args=(invitation.pk,)).get() == "sent"
    invitation.refresh_from_db()
    assert len(calls) == 2 and invitation.status == "sent" and invitation.attempts == 2


def test_a_second_delivery_sends_nothing_more(ses, site, settings):  # noqa: F811
    invitation = Invitation.objects.create(site=site, email="carol@client.example")
    assert invitations.invitation_send(invitation_id=invitation.pk) == "sent"
    assert invitations.invitation_send(invitation_id=invitation.pk) == "skipped"
    assert len(ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)) == 1


def test_removing_an_invitation_removes_the_allowed_address(site, olga, client):  # noqa: F811
    invitations.invitations_add(site=site, emails=["carol@client.example"], actor=olga)
    invitation = Invitation.objects.get()
    client.force_login(olga)
    assert client.post(reverse("sites:invitation_remove", args=[site.slug, invitation.pk])).status_code == 302
    site.refresh_from_db()
    assert "carol@client.example" not in site.emails and Invitation.objects.count() == 0
    assert "ann@client.example" in site.emails  # the others stay


@pytest.mark.parametrize(
    "bad",
    ["carol@client.example\r\nBcc: all@victims.example", "x" * 250 + "@client.example", "not-an-address", "a@b@c.example"],
)
def test_a_bad_address_is_refused_and_nothing_is_saved(site, olga, client, bad):  # noqa: F811
    client.force_login(olga)
    before = list(ProtectedSite.objects.get(pk=site.pk).emails)
    response = invite(client, site, bad)
    assert response.status_code == 400
    assert Invitation.objects.count() == 0
    assert ProtectedSite.objects.get(pk=site.pk).emails == before
    with pytest.raises(ValidationError):
        invitations.email_normalise(bad)


def test_each_invitation_shows_when_it_was_sent_and_when_the_invitee_first_signed_in(site, vic, client):  # noqa: F811
    now = timezone.now()
    Invitation.objects.create(site=site, email="carol@client.example", status="sent", sent_at=now - timedelta(days=2))
    Invitation.objects.create(site=site, email="dave@client.example", status="sent", sent_at=now - timedelta(days=2))
    for days, key in ((1, "a"), (0, "b")):
        Visit.objects.create(site=site, kind="signed_in", email="carol@client.example", occurred_at=now - timedelta(days=days), event_key=key)
    client.force_login(vic)
    page = client.get(reverse("sites:site", args=[site.slug])).content.decode()
    carol = page[page.index('data-invitation="carol@client.example"'):]
    carol = carol[: carol.index("</tr>")]
    assert "sent" in carol and "2\xa0days ago" in carol and "1\xa0day ago" in carol
    dave = page[page.index('data-invitation="dave@client.example"'):]
    assert "not yet" in dave[: dave.index("</tr>")]
    assert 'id="invite-form"' not in page  # a Viewer cannot invite


@pytest.mark.parametrize(
    "bad",
    [
        "carol@client.example\r\nBcc: all@victims.example",
        "carol@client.example, eve@evil.example",
        "Carol <carol@client.example>",
        "carol@client.example\nTo: eve@evil.example",
    ],
)
def test_a_row_holding_an_injected_address_is_never_sent_to_ses(ses, site, settings, monkeypatch, bad):  # noqa: F811
    # Whatever wrote the row (the admin, a script): the send checks the address again.
    calls = []
    real = ses.email_send_raw
    monkeypatch.setattr(ses, "email_send_raw", lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    invitation = Invitation.objects.create(site=site, email=bad)
    assert invitations.invitation_send(invitation_id=invitation.pk) == "failed"
    invitation.refresh_from_db()
    assert invitation.status == "failed" and invitation.last_error == "not one e-mail address"
    assert calls == [] and ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL) == []


def test_the_page_never_calls_ses_for_an_injected_address(ses, site, olga, client, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    calls = []
    monkeypatch.setattr(ses, "email_send_raw", lambda **kwargs: calls.append(kwargs))
    client.force_login(olga)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client, site, "carol@client.example\r\nBcc: all@victims.example")
    assert response.status_code == 400 and calls == []


def test_an_email_code_site_invitation_says_to_sign_in_with_a_code(ses, site, settings):  # noqa: F811
    site.provider = None
    site.signin_methods = ["email_code"]
    site.save()
    invitation = Invitation.objects.create(site=site, email="carol@client.example")
    assert invitations.invitation_send(invitation_id=invitation.pk) == "sent"
    [message] = ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "type carol@client.example" in text and "code" in text
        assert "10 minutes" in text and "No account or password is needed" in text
        assert "Acme Auth0" not in text
        assert "Access has no end date." in text
        assert "Northwind Consulting" in text


def test_a_site_with_both_methods_explains_both(ses, site, settings):  # noqa: F811
    site.signin_methods = ["idp", "email_code"]
    site.save()
    invitation = Invitation.objects.create(site=site, email="carol@client.example")
    invitations.invitation_send(invitation_id=invitation.pk)
    [message] = ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)
    text = parts(message)["text/plain"]
    assert "type carol@client.example on the sign-in page" in text
    assert "sign in with Acme Auth0 as carol@client.example" in text
