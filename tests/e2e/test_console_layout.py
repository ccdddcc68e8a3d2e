"""Every console page at desktop and phone width, in Chromium (issue 8, "Tests").

One site is brought to a lived-in state by the real services against moto's
server (provisioned, two builds, a rollback, an extension, a redeploy), the
deployments driven in this process as a worker would (the tasks they
enqueue are recorded, not sent), so the pages show real step messages with
their ARNs and bucket names. Then each page is opened at 1280 px and at
390 px: nothing may be wider than the screen, and a screenshot of each is
saved under test-artifacts/screenshots/ (``layout-<page>-<width>.png``).
"""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from playwright.sync_api import expect

from sites.context import change_context
from sites.models import Build, EdgeRelease, IdentityProvider, ProtectedSite
from sites.services import site_actions
from sites.services.provisioning import build_upload_start, site_provision_start, site_redeploy_start
from sites.roles import ADMIN, role_assign
from sites.services.sites import site_create
from tests.console.provisioning_support import drive
from tests.e2e.support import site_zip
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF, STAFF_PASSWORD = "staff", "staff-password-1"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 340, "e": "AQAB"}]}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def tasks_recorded(monkeypatch):
    """Celery sends are recorded: this test drives the deployments itself."""
    from celery.app.task import Task

    sent = []
    monkeypatch.setattr(Task, "apply_async", lambda self, args=None, kwargs=None, **options: sent.append(self.name))
    return sent


@pytest.fixture
def lived_in_site(local_aws, tasks_recorded, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    staff = django_user_model.objects.create_user(STAFF, "staff@consultancy.example", STAFF_PASSWORD, is_staff=True)
    role_assign(user=staff, role=ADMIN)
    provider = IdentityProvider(
        name="Acme Auth0 tenant",
        preset="auth0",
        domain="acme.eu.auth0.com",
        issuer="https://acme.eu.auth0.com/",
        authorization_endpoint="https://acme.eu.auth0.com/authorize",
        token_endpoint="https://acme.eu.auth0.com/oauth/token",
        end_session_endpoint="https://acme.eu.auth0.com/oidc/logout",
        jwks_uri="https://acme.eu.auth0.com/.well-known/jwks.json",
        client_id="acme-client-0123456789abcdefghijklmnopqrstuvwxyz",
        jwks=JWKS,
    )
    provider.client_secret = "client-secret-7f3a9c1e5b2d8f4a"
    provider.save()

    def stage(title):
        return default_storage.save("staged-builds/layout/build.zip", ContentFile(site_zip(title)))

    with change_context(actor=staff, reason="site onboarded"):
        site = site_create(
            actor=staff,
            reason="site onboarded",
            client="Acme Corporation International",
            name="Q3 prototype",
            slug="acme-q3-prototype-2026",
            hosts=["q3-prototype.demos.acme-corporation-international.example"],
            acm_certificate_arn=CERT_ARN,
            provider=provider,
            emails=["ann@client.example"],
            email_domains=["consultancy.example", "acme-corporation-international.example"],
            not_after=timezone.now() + timedelta(days=5),
        )
        provisioning = site_provision_start(site=site, actor=staff)
        upload = build_upload_start(site=site, staged_name=stage("Build one"), actor=staff)
    drive(provisioning)
    drive(upload)
    drive(build_upload_start(site=site, staged_name=stage("Build two"), actor=staff))
    site = ProtectedSite.objects.get(pk=site.pk)
    site_actions.build_make_live(site=site, build=Build.objects.get(site=site, number=1), actor=staff)
    site = ProtectedSite.objects.get(pk=site.pk)
    site_actions.site_access_extend(site=site, not_after=timezone.now() + timedelta(days=60), actor=staff)
    drive(site_redeploy_start(site=site, actor=staff))
    site = ProtectedSite.objects.get(pk=site.pk)
    assert site.status == ProtectedSite.Status.LIVE and site.live_build.number == 1
    return site


def sign_in(page, live_server):
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill(STAFF)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sites", level=1)).to_be_visible()


def overflow(page):
    """How far the page is wider than the screen, and the widest things that stick out."""
    return page.evaluate(
        """() => {
             const root = document.documentElement;
             const limit = root.clientWidth;
             const culprits = Array.from(document.querySelectorAll('body *'))
               .filter(el => el.getBoundingClientRect().right > limit + 1)
               .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} → ${Math.round(el.getBoundingClientRect().right)}px`)
               .slice(0, 8);
             // A table in a scrolling box keeps the page narrow but hides part of itself: that counts too.
             Array.from(document.querySelectorAll('.table-wrap, pre, .copy code')).forEach(el => {
               if (el.scrollWidth > el.clientWidth + 1) culprits.push(`${el.tagName.toLowerCase()}.${el.className} scrolls ${el.scrollWidth - el.clientWidth}px`);
             });
             const clipped = culprits.length && root.scrollWidth <= root.clientWidth ? 1 : 0;
             return {excess: Math.max(root.scrollWidth - root.clientWidth, clipped), culprits};
           }"""
    )


def pages(site):
    release = EdgeRelease.objects.filter(status=EdgeRelease.Status.PUBLISHED).first()
    latest = site.revisions.order_by("-number").first().number
    base = f"/sites/{site.slug}"
    return {
        "dashboard": "/",
        "onboard": "/onboard/",
        "site": f"{base}/",
        "site-edit": f"{base}/edit/",
        "site-delete": f"{base}/delete/",
        "builds": f"{base}/builds/",
        "history": f"{base}/history/",
        "history-diff": f"{base}/history/?from=1&to={latest}#diff",
        "restore-confirm": f"{base}/history/1/restore/confirm/",
        "activity": "/activity/",
        "releases": "/releases/",
        "release": f"/releases/{release.pk}/",
    }


def test_no_page_is_wider_than_a_phone_and_every_page_is_photographed(browser, live_server, lived_in_site):
    problems = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, is_mobile=label == "phone", has_touch=label == "phone")
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(live_server.url + "/login/")
            screenshot(page, f"layout-sign-in-{label}")
            sign_in(page, live_server)
            for name, path in pages(lived_in_site).items():
                response = page.goto(live_server.url + path)
                assert response.ok, f"{path}: {response.status}"
                page.wait_for_load_state("networkidle")
                screenshot(page, f"layout-{name}-{label}")
                if label == "phone":
                    result = overflow(page)
                    if result["excess"] > 0:
                        problems.append(f"{name} ({path}) is {result['excess']} px too wide: {result['culprits']}")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_site_actions_are_on_the_first_screen(browser, live_server, lived_in_site):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server.url}/sites/{lived_in_site.slug}/")
        actions = page.get_by_role("navigation", name="Site actions")
        expect(actions.get_by_role("button", name="Redeploy now")).to_be_in_viewport()
        expect(actions.get_by_role("link", name="Upload build")).to_be_in_viewport()
        # Finished deployments are one line each; the steps open on request.
        finished = page.locator('#deployments [data-deployment-status="succeeded"] > details')
        assert finished.count() >= 3
        for details in finished.all():
            assert details.get_attribute("open") is None
        first = finished.first
        expect(first.locator(".steps")).to_be_hidden()
        first.locator("summary").click()
        expect(first.locator(".steps")).to_be_visible()
        # "Upload build" goes to the form.
        actions.get_by_role("link", name="Upload build").click()
        expect(page.get_by_label("Built site (.zip)")).to_be_in_viewport()
    finally:
        context.close()


def test_restore_shows_the_changes_against_today_then_applies_on_confirm(browser, live_server, lived_in_site):
    site = lived_in_site
    before = site.revisions.count()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server.url}/sites/{site.slug}/history/")
        restore = page.get_by_role("link", name="Restore this revision: #1")
        restore.scroll_into_view_if_needed()
        box = restore.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        restore.click()

        expect(page.get_by_role("heading", name="Restore revision 1?")).to_be_visible()
        changes = page.locator("#restore-changes tr[data-setting]")
        settings_changed = {row.get_attribute("data-setting") for row in changes.all()}
        # Revision 1 was rendered before the distribution and any build existed.
        assert "not_after" in settings_changed, settings_changed
        row = page.locator('#restore-changes tr[data-setting="not_after"]')
        expect(row.locator("del")).to_contain_text(site.not_after.strftime("%d %b %Y").lstrip("0"))
        screenshot(page, "restore-confirm-phone")
        assert site.revisions.count() == before  # looking changes nothing
        assert overflow(page)["excess"] <= 0

        page.get_by_role("button", name="Restore revision 1").click()
        expect(page.get_by_role("status").filter(has_text="Revision 1's settings are back")).to_be_visible()
        assert site.revisions.count() == before + 1
        restored = ProtectedSite.objects.get(pk=site.pk)
        assert restored.not_after != site.not_after
    finally:
        context.close()


def test_times_show_in_the_readers_own_zone_as_well_as_utc(browser, live_server, lived_in_site):
    context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server.url}/activity/")
        first = page.locator("time[datetime]").first
        expect(first.locator(".abs")).to_contain_text("UTC")
        expect(first.locator(".local")).to_have_attribute("data-zone", "Asia/Tokyo")
        expect(first.locator(".local")).to_contain_text(re.compile(r"GMT\+9|JST"))
        # The activity reads as sentences with the site's name, not its slug.
        expect(page.locator(".feed-item").first).to_contain_text("staff redeployed Q3 prototype")
        expect(page.get_by_text("redeploy.done")).to_have_count(0)
        screenshot(page, "activity-tokyo-desktop")
    finally:
        context.close()
