"""Every console URL: anonymous to sign-in, signed-in non-staff 403, staff allowed; POSTs only by POST."""

import pytest
from django.test import Client
from django.urls import reverse

from sites import urls as site_urls
from datetime import timedelta

from django.utils import timezone

from sites.models import Build, Invitation, ShareLink, WebhookDelivery, WebhookEndpoint
from tests.console.pages_support import bob, fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401

# name: (method, staff status with an empty form)
PAGES = {
    "dashboard": ("get", 200),
    "activity": ("get", 200),
    "onboard": ("get", 200),
    "site": ("get", 200),
    "site_deployments": ("get", 200),
    "edit": ("get", 200),
    "delete": ("get", 200),
    "builds": ("get", 200),
    "history": ("get", 200),
    "releases": ("get", 200),
    "release": ("get", 200),
    "release_progress": ("get", 200),
    "provider_check": ("post", 200),
    "redeploy": ("post", 302),
    "extend": ("post", 302),
    "sign_everyone_out": ("post", 302),
    "disable": ("post", 302),
    "enable": ("post", 302),
    "move_release": ("post", 400),
    "build_upload": ("post", 400),
    "build_make_live": ("post", 302),
    "revision_restore": ("post", 302),
    "revision_restore_confirm": ("get", 200),
    "release_publish": ("post", 302),
    "release_rollout": ("post", 302),
    "visits_csv": ("get", 200),
    "invitations_add": ("post", 400),
    "invitation_resend": ("post", 302),
    "invitation_remove": ("post", 302),
    "tokens": ("get", 200),
    "token_revoke": ("post", 302),
    "share_link_add": ("post", 400),
    "share_link_revoke": ("post", 302),
    "webhooks": ("get", 200),
    "webhook_new": ("get", 200),
    "webhook": ("get", 200),
    "webhook_edit": ("get", 200),
    "webhook_disable": ("post", 302),
    "webhook_enable": ("post", 302),
    "webhook_delete": ("post", 302),
    "webhook_redeliver": ("post", 302),
}


@pytest.fixture
def urls(live_site, release, alice):
    build = Build.objects.create(site=live_site, created_by=alice, status=Build.Status.READY, prefix="builds/1")
    invitation = Invitation.objects.create(site=live_site, email="ann@client.example", status=Invitation.Status.SENT)
    endpoint = WebhookEndpoint(events=["build.live"])
    endpoint.url = "https://hooks.client.example/gatehouse"
    endpoint.save()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="build.live", message_id="msg_pages", status=WebhookDelivery.Status.FAILED
    )
    link = ShareLink.objects.create(
        site=live_site, label="board meeting", public_id="bm12DecAb3_-", secret_sha256="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    slug = live_site.slug
    args = {
        "share_link_add": [slug],
        "share_link_revoke": [slug, link.pk],
        **{name: [endpoint.pk] for name in ("webhook", "webhook_edit", "webhook_disable", "webhook_enable", "webhook_delete")},
        "webhook_redeliver": [delivery.pk],
        "visits_csv": [slug],
        "invitations_add": [slug],
        "invitation_resend": [slug, invitation.pk],
        "invitation_remove": [slug, invitation.pk],
        "site": [slug],
        "site_deployments": [slug],
        "edit": [slug],
        "delete": [slug],
        "builds": [slug],
        "history": [slug],
        "redeploy": [slug],
        "extend": [slug],
        "sign_everyone_out": [slug],
        "disable": [slug],
        "enable": [slug],
        "move_release": [slug],
        "build_upload": [slug],
        "build_make_live": [slug, build.pk],
        "revision_restore": [slug, live_site.revisions.first().number],
        "revision_restore_confirm": [slug, live_site.revisions.first().number],
        "release": [release.pk],
        "release_progress": [release.pk],
        "release_rollout": [release.pk],
    }
    return {name: reverse(f"sites:{name}", args=args.get(name, [])) for name in PAGES}


def test_the_matrix_covers_every_console_url():
    assert {p.name for p in site_urls.urlpatterns} == set(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, urls, name):
    method, _ = PAGES[name]
    response = getattr(client, method)(urls[name])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", PAGES)
def test_signed_in_people_who_are_not_staff_get_403(client, bob, urls, name):
    client.force_login(bob)
    method, _ = PAGES[name]
    assert getattr(client, method)(urls[name]).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_staff_get_the_page_or_the_action(staff_client, urls, provisioning_calls, name):
    method, expected = PAGES[name]
    assert getattr(staff_client, method)(urls[name]).status_code == expected


@pytest.mark.parametrize("name", [n for n, (m, _) in PAGES.items() if m == "post"])
def test_actions_refuse_get(staff_client, urls, name):
    assert staff_client.get(urls[name]).status_code == 405


@pytest.mark.parametrize("name", ["redeploy", "sign_everyone_out", "disable", "release_publish"])
def test_actions_need_the_csrf_token(alice, urls, provisioning_calls, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(urls[name]).status_code == 403
    assert provisioning_calls == []


def test_a_post_with_the_csrf_token_goes_through(alice, live_site, provisioning_calls):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(reverse("sites:site", args=[live_site.slug]))
    token = page.cookies["csrftoken"].value
    response = client.post(reverse("sites:redeploy", args=[live_site.slug]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert [name for name, _ in provisioning_calls] == ["site_redeploy_start"]


def test_the_sign_in_page_is_open_and_sign_out_is_a_post(client, alice):
    assert client.get(reverse("login")).status_code == 200
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("sites:dashboard")).status_code == 302


def test_signing_in_lands_on_the_dashboard(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"<h1>Sites</h1>" in response.content
