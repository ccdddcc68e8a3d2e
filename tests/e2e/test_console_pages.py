"""The console's pages in a real browser, end to end (issue 4, "Tests").

Debian's Chromium (Playwright) drives the running console (pytest-django's
``live_server``); a real Celery worker process runs the tasks the pages start,
against moto's server; the local edge gateway serves the protected site from
the site bucket with the config the worker published; the viewer signs in at
the real OpenID Connect provider (devidp). Nothing is clicked through the ORM:
the tests read the database only to wait for the worker (``wait_for``) and to
name a row the page shows.

A screenshot of every page visited is saved to test-artifacts/screenshots/
(``console-*.png``).
"""

import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from sites.models import ConfigRevision, ProtectedSite
from sites.roles import ADMIN, role_assign
from tests.e2e.support import reload_until, site_zip
from tests.fixtures.browser import screenshot
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF, STAFF_PASSWORD = "staff", "staff-password-1"
VIEWER_PASSWORD = "demo-password"
# Provisioning against moto takes well under a minute; CloudFront waits are
# polled by the worker, so allow for a slow machine.
PROVISION_MS = 150_000
DEPLOY_MS = 120_000
# A syntactically valid ACM ARN in us-east-1: moto does not check that it exists.
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f"


def shot(page, name):
    return screenshot(page, f"console-{name}")


def zip_file(name, title):
    return {"name": name, "mimeType": "application/zip", "buffer": site_zip(title)}


def sign_in_to_console(page, live_server, username, password, path="/"):
    """Open `path` anonymously, get sent to the sign-in page, sign in there."""
    page.goto(live_server.url + path)
    expect(page).to_have_url(login_url_re(path))
    expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def login_url_re(path):
    """The sign-in page, asked to come back to `path` (the slashes quoted or not)."""
    quoted = "".join("(/|%2F)" if c == "/" else re.escape(c) for c in path)
    return re.compile(r"/login/\?next=" + quoted + "$")


def sign_in_at_provider(page, username):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(VIEWER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def config_settled(slug):
    """Every config revision of the site is in S3 (none pending or uploading)."""
    return not ConfigRevision.objects.filter(site__slug=slug, upload_status__in=["pending", "uploading"]).exists()


def deployments(page, kind=None, status=None):
    selector = "#deployments [data-deployment-id]"
    if kind:
        selector += f'[data-deployment-kind="{kind}"]'
    if status:
        selector += f'[data-deployment-status="{status}"]'
    return page.locator(selector)


def deployment_states(page):
    """What the deployments list says right now: each deployment's and step's status."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#deployments [data-deployment-id]')).map(d =>
               [d.dataset.deploymentId, d.dataset.deploymentStatus,
                Array.from(d.querySelectorAll('[data-step-status]')).map(s => s.dataset.stepStatus).join(',')].join(':')
           ).join(' | ')"""
    )


def wait_for_live_update(page, timeout_ms):
    """The deployments list changes while the test does nothing: no reload, no navigation.

    A marker set on `window` before waiting survives only if the document
    was updated in place (the page's polling), not reloaded.
    """
    before = deployment_states(page)
    page.evaluate("window.__gatehouseSamePage = true")
    page.wait_for_function(
        """(before) => {
             if (window.__gatehouseSamePage !== true) return false;
             const now = Array.from(document.querySelectorAll('#deployments [data-deployment-id]')).map(d =>
               [d.dataset.deploymentId, d.dataset.deploymentStatus,
                Array.from(d.querySelectorAll('[data-step-status]')).map(s => s.dataset.stepStatus).join(',')].join(':')
             ).join(' | ');
             return now !== before;
           }""",
        arg=before,
        timeout=timeout_ms,
    )
    return before, deployment_states(page)


def onboard_through_the_form(page, idp, *, client, name, slug, host, email_domains, build_title, screenshot_name=None):
    """Fill the onboarding form like staff do: a new provider from the generic
    OpenID Connect preset, checked with "Check provider", and a zip."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Onboard").click()
    expect(page.get_by_role("heading", name="Onboard a client demo", level=1)).to_be_visible()

    page.get_by_label("Client", exact=True).fill(client)
    page.get_by_label("Site name").fill(name)
    page.get_by_label("Site id").fill(slug)
    page.get_by_label("Custom host names").fill(host)
    page.get_by_label("ACM certificate ARN").fill(CERT_ARN)

    # The provider: a new one, generic OpenID Connect; the fields follow the preset.
    expect(page.get_by_label("Identity provider")).to_have_value("new")
    page.get_by_label("Provider name").fill(f"devidp for {client}")
    page.get_by_label("Provider type").select_option(label="Generic OpenID Connect")
    expect(page.get_by_label("Issuer URL")).to_be_visible()
    expect(page.get_by_label("Directory (tenant) id")).to_be_hidden()
    expect(page.get_by_label("User pool id")).to_be_hidden()
    page.get_by_label("Issuer URL").fill(idp.issuer)
    page.get_by_label("Client id", exact=True).fill(idp.client_id)
    page.get_by_label(re.compile(r"^Client secret")).fill(idp.client_secret)
    page.get_by_label("Token endpoint authentication").select_option("client_secret_basic")
    page.get_by_role("button", name="Check provider").click()
    result = page.locator("#provider-check-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("Provider found.")
    expect(result).to_contain_text(idp.discovery["token_endpoint"])

    page.get_by_label("Allowed email domains").fill("\n".join(email_domains))
    page.get_by_label("Session lifetime (hours)").fill("8")
    page.get_by_label("Access ends on").fill((timezone.now() + timedelta(days=30)).date().isoformat())
    page.get_by_label("Built site (.zip)").set_input_files(zip_file(f"{slug}-build-one.zip", build_title))
    if screenshot_name:
        shot(page, screenshot_name)

    page.get_by_role("button", name="Create site and start provisioning").click()
    expect(page).to_have_url(live_url_re(f"/sites/{slug}/"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="provisioning has started")).to_be_visible()


def live_url_re(path):
    return re.compile(r"^http://[^/]+" + re.escape(path) + r"(#.*)?$")


def watch_until_live(page, worker, slug, *, prove_live_updates=True):
    """On the site page: progress updates by itself, then the site is live and its build served.

    A second site provisions in about a second once the shared resources
    exist, and the page reloads itself when everything has finished: there
    may be nothing left to watch update by then, so only the first onboarding
    proves the in-place updates.
    """
    expect(deployments(page, "provision")).to_have_count(1)
    expect(deployments(page, "build")).to_have_count(1)
    if prove_live_updates:
        try:
            wait_for_live_update(page, PROVISION_MS)
        except PlaywrightTimeoutError as exc:
            pytest.fail(f"the deployments list never updated by itself ({exc}); it shows {deployment_states(page)}\n{worker.log()}")
    # No reload by the test from here on: the page follows the deployments.
    try:
        expect(page.locator(".site-status [data-status]").first).to_have_attribute("data-status", "live", timeout=PROVISION_MS)
        expect(deployments(page, "provision").first).to_have_attribute("data-deployment-status", "succeeded", timeout=PROVISION_MS)
        expect(deployments(page, "build").first).to_have_attribute("data-deployment-status", "succeeded", timeout=PROVISION_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{worker.log()}") from None
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the config upload")


@pytest.fixture
def staff_user(django_user_model):
    user = django_user_model.objects.create_user(STAFF, "staff@consultancy.example", STAFF_PASSWORD, is_staff=True)
    role_assign(user=user, role=ADMIN)
    return user


# --- Who may see the console -------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_non_staff_get_403(live_server, page, django_user_model):
    django_user_model.objects.create_user("viewer", "viewer@client.example", "viewer-password-1")

    for path in ("/", "/onboard/", "/activity/", "/releases/", "/sites/acme-q3/"):
        response = page.goto(live_server.url + path)
        assert response.ok, f"{path}: {response.status}"
        expect(page).to_have_url(login_url_re(path))
        expect(page.get_by_role("heading", name="Sign in to Gatehouse")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    shot(page, "sign-in")

    # A wrong password: said plainly, on the same page.
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("viewer")
    shot(page, "sign-in-error")

    # Signed in, not staff: 403 wherever they go, including where sign-in sent them.
    response = sign_in_to_console(page, live_server, "viewer", "viewer-password-1", path="/onboard/")
    assert response.status == 403, response.status
    for path in ("/", "/activity/", "/releases/", "/sites/acme-q3/", "/onboard/"):
        response = page.goto(live_server.url + path)
        assert response.status == 403, f"{path}: {response.status}"
        assert "/login/" not in page.url
    shot(page, "forbidden-non-staff")


# --- The daily work, end to end -----------------------------------------------------------------


@pytest.fixture
def cloudfront_takes_its_time(moto_server):
    """New distributions stay InProgress for a few status reads, as on AWS.

    With the local AWS a site goes live in about a second and the page then
    reloads itself: this keeps the provisioning running long enough (a few
    poll intervals) for the test to watch the page update in place.
    """

    def post(action, body):
        request = urllib.request.Request(
            f"{moto_server.endpoint_url}/moto-api/state-manager/{action}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    post("set-transition", {"model_name": "cloudfront::distribution", "transition": {"progression": "manual", "times": 3}})
    yield
    post("unset-transition", {"model_name": "cloudfront::distribution"})


def test_staff_onboard_a_site_watch_it_go_live_change_it_roll_back_and_redeploy(
    celery_worker_process, gateway, idp, live_server, page, staff_user, cloudfront_takes_its_time
):
    worker = celery_worker_process
    slug, host = "acme-q3", "acme.localhost"
    site_url = gateway.origin(host)

    # Sign in through the sign-in page; an empty dashboard says what to do.
    response = sign_in_to_console(page, live_server, STAFF, STAFF_PASSWORD)
    assert response.ok
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sites", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="No sites yet")).to_be_visible()
    shot(page, "dashboard-empty")

    # Onboard: the form, the provider check, a zip; lands on the site page.
    onboard_through_the_form(
        page,
        idp,
        client="Acme",
        name="Q3 demo",
        slug=slug,
        host=host,
        email_domains=["client.example"],
        build_title="Build one",
        screenshot_name="onboard-form",
    )
    shot(page, "site-provisioning")

    # The site goes live on its page while the test only watches.
    watch_until_live(page, worker, slug)
    callback = f"{site_url}/_gatehouse/callback"
    expect(page.locator("#callback-1")).to_have_text(callback)
    expect(page.get_by_role("button", name=f"Copy callback URL for {host}")).to_be_visible()
    expect(page.get_by_role("button", name=f"Copy sign-out URL for {host}")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"{re.escape(host)}\. CNAME \S+\.cloudfront\.net\."))).to_be_visible()
    shot(page, "site-live")

    # Open the protected site from the site page: the provider asks ann to sign in.
    with page.context.expect_page() as new_tab:
        page.get_by_role("link", name=site_url + "/").click()
    viewer = new_tab.value
    viewer.wait_for_load_state()
    assert viewer.url.startswith(f"http://localhost:{idp.port}/"), viewer.url
    sign_in_at_provider(viewer, "ann")
    viewer.wait_for_url(site_url + "/")
    expect(viewer.get_by_role("heading", name="Build one")).to_be_visible()
    screenshot(viewer, "console-protected-site")

    # The dashboard lists it, live, with its last deployment.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sites").click()
    row = page.locator(f'tr[data-site="{slug}"]')
    expect(row).to_be_visible()
    expect(row.locator('[data-status="live"]').first).to_be_visible()
    expect(row).to_contain_text(host)
    expect(row).to_contain_text("devidp for Acme")
    shot(page, "dashboard")
    row.get_by_role("link", name="Q3 demo").click()

    # A settings change makes a revision; history shows who, when, why, and the diff.
    revisions_before = ConfigRevision.objects.filter(site__slug=slug).count()
    old_end = ProtectedSite.objects.get(slug=slug).not_after
    new_day = (timezone.now() + timedelta(days=60)).date()
    page.get_by_label("Access ends on").fill(new_day.isoformat())
    page.get_by_role("button", name="Extend access").click()
    expect(page.get_by_role("status").filter(has_text=f"Access now ends {new_day:%d %b %Y}")).to_be_visible()
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the extended config upload")

    page.get_by_role("navigation", name="Site sections").get_by_role("link", name="Config history").click()
    expect(page.get_by_role("heading", name="Revisions")).to_be_visible()
    newest = revisions_before + 1
    top = page.locator("tr[data-revision]").first
    expect(top).to_have_attribute("data-revision", str(newest))
    expect(top).to_contain_text(STAFF)
    expect(top).to_contain_text("access extended")
    expect(top.locator("time")).to_have_count(1)
    shot(page, "history")

    page.get_by_role("link", name=f"Changes in revision {newest}").click()
    diff = page.locator("#diff")
    expect(diff.get_by_role("heading", name=f"Changes from revision {newest - 1} to revision {newest}")).to_be_visible()
    changed = diff.locator('tr[data-change="changed"]')
    expect(changed.filter(has=page.locator("td.path", has_text="not_after"))).to_have_count(1)
    expect(changed.filter(has=page.locator("td.path", has_text="not_after"))).to_contain_text(new_day.isoformat())
    # Secrets in the diff are only ever "changed" or "unchanged".
    for secret_row in diff.locator("tr[data-secret]").all():
        expect(secret_row.locator("td.value")).to_have_text(re.compile(r"^secret (changed|unchanged|added|removed)$"))
    shot(page, "history-diff")

    # Restore the revision before: first what would change, then the old end date comes back as a new revision.
    page.get_by_role("link", name=f"Restore this revision: #{newest - 1}").click()
    expect(page.locator('#restore-changes tr[data-setting="not_after"]')).to_be_visible()
    shot(page, "restore-confirm")
    page.get_by_role("button", name=f"Restore revision {newest - 1}").click()
    expect(page.get_by_role("status").filter(has_text=f"Revision {newest - 1}'s settings are back")).to_be_visible()
    expect(page.locator("tr[data-revision]").first).to_have_attribute("data-revision", str(newest + 1))
    assert ProtectedSite.objects.get(slug=slug).not_after == old_end
    page.locator(f'tr[data-revision="{newest - 1}"] input[name="from"]').check()
    page.locator(f'tr[data-revision="{newest + 1}"] input[name="to"]').check()
    page.get_by_role("button", name="Compare selected revisions").click()
    expect(page.locator("#diff")).to_be_visible()
    expect(page.locator('#diff tr[data-change="changed"]').filter(has=page.locator("td.path", has_text="not_after"))).to_have_count(0)
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the restored config upload")

    # Upload a second build from the site page: progress below, then it is served.
    page.get_by_role("navigation", name="Site sections").get_by_role("link", name="Overview").click()
    page.get_by_label("Built site (.zip)").set_input_files(zip_file("build-two.zip", "Build two"))
    page.get_by_role("button", name="Upload build").click()
    expect(page.get_by_role("status").filter(has_text="Build upload started")).to_be_visible()
    expect(deployments(page, "build")).to_have_count(2)
    expect(deployments(page, "build", "succeeded")).to_have_count(2, timeout=DEPLOY_MS)
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the second build's config upload")
    reload_until(viewer, site_url + "/", "Build two")

    # Builds: who, when, size; "Make live" on the first one rolls back at once.
    page.get_by_role("navigation", name="Site sections").get_by_role("link", name="Builds").click()
    expect(page.get_by_role("heading", name="Builds", level=2)).to_be_visible()
    builds = page.locator("tr[data-build]")
    expect(builds).to_have_count(2)
    live_row = page.locator('tr[data-build][data-live="true"]')
    expect(live_row).to_have_count(1)
    expect(live_row).to_contain_text(STAFF)
    older = page.locator("tr[data-build]:not([data-live])")
    expect(older).to_have_count(1)
    expect(older).to_contain_text(re.compile(r"\d+\s(bytes|KB)"))
    expect(older).to_contain_text("2 files")
    first_build = older.get_attribute("data-build")
    first_number = older.get_attribute("data-build-number")
    assert first_number == "1"  # counted within the site
    shot(page, "builds")
    page.get_by_role("button", name=f"Make live: build {first_number}").click()
    expect(page.get_by_role("status").filter(has_text=f"Build {first_number} is live")).to_be_visible()
    expect(page.locator(f'tr[data-build="{first_build}"]')).to_have_attribute("data-live", "true")
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the rollback's config upload")
    reload_until(viewer, site_url + "/", "Build one")
    shot(page, "builds-rolled-back")

    # Redeploy: one click, live progress, success.
    page.get_by_role("navigation", name="Site sections").get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Redeploy").click()
    expect(page.get_by_role("status").filter(has_text="Redeploy started")).to_be_visible()
    expect(deployments(page, "redeploy")).to_have_count(1)
    expect(deployments(page, "redeploy").first).to_have_attribute("data-deployment-status", "succeeded", timeout=DEPLOY_MS)
    expect(deployments(page, status="failed")).to_have_count(0)
    expect(page.locator(".site-status [data-status]").first).to_have_attribute("data-status", "live")
    shot(page, "site-redeployed")
    reload_until(viewer, site_url + "/", "Build one")

    # Edge releases: the one the site runs, its size and hash, the per-function limit.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Edge releases").click()
    expect(page.get_by_role("heading", name="Edge releases", level=1)).to_be_visible()
    release_row = page.locator("tr[data-release]")
    expect(release_row).to_have_count(1)
    expect(release_row.locator('td[data-label="Sites"]')).to_have_text("1")
    expect(release_row.locator('[data-status="published"]')).to_be_visible()
    expect(page.get_by_text(re.compile(r"1 of 500 sites"))).to_be_visible()
    expect(page.get_by_role("button", name="Publish new release")).to_be_visible()
    shot(page, "edge-releases")
    release_row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shot(page, "edge-release")

    # Activity: who did what to which site; filter by site.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()
    page.get_by_label("Site id").fill(slug)  # typed, not a menu of every site (issue 9, scale)
    page.get_by_label("Person").select_option(STAFF)
    page.get_by_role("button", name="Filter").click()
    entries = page.locator("[data-verb]")
    expect(entries.first).to_be_visible()
    for verb in ("site.create", "site.extend", "config.restore", "build.upload", "site.redeploy"):
        expect(page.locator(f'[data-verb="{verb}"]')).to_have_count(1)  # one item per action
    for entry in entries.all():
        expect(entry).to_have_attribute("data-who", STAFF)
        expect(entry).to_have_attribute("data-site", slug)
        # Sentences name the site, never its slug.
        expect(entry.locator(".feed-sentence")).to_contain_text(re.compile(rf"^{STAFF} .*Q3 demo"))
    expect(page.locator('[data-verb="build.live"]')).to_contain_text(f"{STAFF} rolled Q3 demo back to build 1")
    expect(page.get_by_text("redeploy.done")).to_have_count(0)
    shot(page, "activity")

    # Sign out: back to the sign-in page on the next visit.
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(login_url_re("/"))


# --- Access rules: edit, revision and diff, restore, checked at the edge ---------------------------


def test_staff_change_the_access_rules_and_restore_them_the_edge_follows(
    browser, celery_worker_process, gateway, idp, live_server, page, staff_user
):
    worker = celery_worker_process
    slug, host = "globex-pilot", "globex.localhost"
    site_url = gateway.origin(host)

    sign_in_to_console(page, live_server, STAFF, STAFF_PASSWORD)
    onboard_through_the_form(
        page,
        idp,
        client="Globex",
        name="Pilot",
        slug=slug,
        host=host,
        email_domains=["client.example"],
        build_title="Globex pilot",
    )
    watch_until_live(page, worker, slug, prove_live_updates=False)

    def bob_sees():
        """What bob (consultancy.example) gets at the site, in a browser of his own."""
        context = browser.new_context()
        context.set_default_timeout(10_000)
        try:
            viewer = context.new_page()
            viewer.goto(site_url + "/")
            sign_in_at_provider(viewer, "bob")
            viewer.wait_for_url(re.compile(re.escape(site_url) + r"/.*"))
            viewer.wait_for_load_state()
            return viewer.content()
        finally:
            context.close()

    assert "No access" in bob_sees()

    # Edit the access rules in the console: add bob's domain.
    revisions_before = ConfigRevision.objects.filter(site__slug=slug).count()
    edit = page.get_by_role("link", name=re.compile(r"(edit|change).*(settings|access)", re.I)).or_(
        page.get_by_role("button", name=re.compile(r"(edit|change).*(settings|access)", re.I))
    )
    if edit.count() == 0:
        shot(page, "site-no-edit")
        pytest.fail(
            "The site page offers no way to change the access rules: no 'Edit settings' / 'Change access rules' "
            "link or button on /sites/<slug>/ (templates/sites/site.html), and sites/urls.py has no edit route. "
            "Issue 4 requires staff to change the access rules in the console, see a new revision and its diff, "
            "and restore the old one."
        )
    edit.first.click()
    domains = page.get_by_label("Allowed email domains")
    expect(domains).to_have_value("client.example")
    shot(page, "site-edit")
    domains.fill("client.example\nconsultancy.example")
    page.get_by_role("button", name=re.compile(r"^save", re.I)).click()
    expect(page).to_have_url(live_url_re(f"/sites/{slug}/"))
    expect(page.get_by_text("consultancy.example")).to_be_visible()
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the edited config upload")
    wait_for(lambda: "Globex pilot" in bob_sees(), timeout=30, worker=worker, what="bob to get in")

    # The revision and its diff.
    page.get_by_role("navigation", name="Site sections").get_by_role("link", name="Config history").click()
    newest = revisions_before + 1
    expect(page.locator("tr[data-revision]").first).to_have_attribute("data-revision", str(newest))
    expect(page.locator("tr[data-revision]").first).to_contain_text(STAFF)
    page.get_by_role("link", name=f"Changes in revision {newest}").click()
    domains_row = page.locator('#diff tr[data-change="changed"]').filter(has=page.locator("td.path", has_text="email_domains"))
    expect(domains_row).to_have_count(1)
    expect(domains_row).to_contain_text("consultancy.example")
    shot(page, "history-diff-access-rules")

    # Restore: the preview names the domains that go, then bob is out again.
    page.get_by_role("link", name=f"Restore this revision: #{newest - 1}").click()
    expect(page.locator('#restore-changes tr[data-setting="email_domains"] del')).to_contain_text("consultancy.example")
    page.get_by_role("button", name=f"Restore revision {newest - 1}").click()
    expect(page.get_by_role("status").filter(has_text=f"Revision {newest - 1}'s settings are back")).to_be_visible()
    wait_for(lambda: config_settled(slug), timeout=60, worker=worker, what="the restored config upload")
    wait_for(lambda: "No access" in bob_sees(), timeout=30, worker=worker, what="bob to be refused again")
