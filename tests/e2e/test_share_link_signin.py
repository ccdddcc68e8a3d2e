"""A share link end to end: staff make it on the site page (Chromium, the running
console), the console publishes the config to moto's S3 (tasks run in place,
the real upload code), the local gateway running edge_runtime reads it; a
viewer opens the link and is in, with the token gone from the address bar;
staff revoke it, and the same browser and a fresh one are refused."""

import re
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from playwright.sync_api import expect

from sites import aws
from sites.models import IdentityProvider, ShareLink
from sites.roles import OPERATOR, role_assign
from sites.services.sites import site_create
from tests.e2e.support import gateway_start, reload_until
from tests.e2e.test_console_pages import sign_in_to_console
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST = "share-demo.localhost"
SLUG = "share-demo"
STAFF, STAFF_PASSWORD = "olga", "olga-password-1"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 340, "e": "AQAB"}]}


@pytest.fixture
def tasks_in_place():
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def edge(local_aws, settings, tmp_path, tasks_in_place):
    aws.config_bucket_ensure()
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "index.html").write_text("<!doctype html><title>Board pack</title><h1>Board pack</h1>")
    gateway = gateway_start(
        tmp_path, bucket=aws.config_bucket_name(), prefix=aws.config_prefix(), endpoint_url=local_aws.endpoint_url,
        args=["--origin-dir", str(origin), "--distribution-id", "E2ESHARELINK"],
    )
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "http"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = gateway.port
    provider = IdentityProvider(
        name="Acme Auth0", preset="auth0", domain="acme.eu.auth0.com", issuer="https://acme.eu.auth0.com/",
        authorization_endpoint="https://acme.eu.auth0.com/authorize", token_endpoint="https://acme.eu.auth0.com/oauth/token",
        jwks_uri="https://acme.eu.auth0.com/.well-known/jwks.json", client_id="acme-client", jwks=JWKS,
    )
    provider.client_secret = "client-secret-7f3a9c1e5b2d8f4a"
    provider.save()
    site_create(client="Acme", name="Board pack", slug=SLUG, hosts=[HOST], provider=provider, emails=["ann@client.example"])
    yield f"http://{HOST}:{gateway.port}"
    gateway.stop()


def test_a_share_link_is_used_then_revoked_and_refused(edge, live_server, browser, django_user_model):
    staff = django_user_model.objects.create_user(STAFF, "olga@consultancy.example", STAFF_PASSWORD, is_staff=True)
    role_assign(user=staff, role=OPERATOR)
    console = browser.new_context().new_page()
    sign_in_to_console(console, live_server, STAFF, STAFF_PASSWORD, path=f"/sites/{SLUG}/")
    card = console.locator("#share-links")
    card.get_by_label("Label").fill("board meeting, 12 Dec")
    card.get_by_label("Link expires on").fill((timezone.now() + timedelta(days=5)).date().isoformat())
    card.get_by_role("button", name="Make a share link").click()
    expect(console.locator("#new-share-link")).to_contain_text("shown only this once")
    link = console.locator("#new-share-link-url").inner_text().strip()
    assert re.fullmatch(re.escape(edge) + r"/_gatehouse/link/[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}", link), link
    screenshot(console, "console-share-link-made")

    viewer_context = browser.new_context()
    viewer = viewer_context.new_page()
    # The gateway caches configs for a second: the new link may take that long.
    reload_until(viewer, link, "Board pack")
    assert viewer.url == edge + "/"  # the token is gone from the address bar
    expect(viewer.get_by_role("heading", name="Board pack")).to_be_visible()
    me = viewer.evaluate("fetch('/_gatehouse/me').then(r => r.json())")
    assert me["signed_in"] is True and me["via"] == "share_link"
    screenshot(viewer, "edge-share-link-signed-in")

    # Staff revoke it; the console republishes the config without it.
    console.goto(f"{live_server.url}/sites/{SLUG}/")
    console.get_by_role("button", name="Revoke the share link board meeting, 12 Dec").click()
    expect(console.get_by_role("status")).to_contain_text("is revoked")
    expect(console.locator('[data-share-link="board meeting, 12 Dec"]')).to_have_attribute("data-share-link-state", "revoked")
    assert ShareLink.objects.get().revoked_at is not None

    # The viewer's session ends with the link, within the config cache lifetime.
    reload_until(viewer, edge + "/", "This link no longer works")
    screenshot(viewer, "edge-share-link-revoked")
    viewer_context.close()

    # And the link itself no longer opens the demo, in a fresh browser.
    fresh_context = browser.new_context()
    fresh = fresh_context.new_page()
    response = fresh.goto(link)
    assert response.status == 401
    assert "This link no longer works" in fresh.content() and "Board pack" not in fresh.content()
    fresh_context.close()
